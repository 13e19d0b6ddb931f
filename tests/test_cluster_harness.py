"""The cluster harness itself: three processes on one database and one Redis namespace."""

import pytest

from .cluster import cluster

pytestmark = pytest.mark.timeout(1200)   # starting three processes on a busy machine takes a while


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    with cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


def test_round_robin_reaches_every_process_and_they_share_one_database(nodes):
    account, key = nodes.new_key(usd="3")
    client = nodes.client(key)
    served_by = {client.get("/v1/credits").request.url.port for _ in range(len(nodes) * 2)}
    assert served_by == {gateway.port for gateway in nodes.gateways}
    assert {client.get("/v1/credits").json()["data"]["balance_usd"] for _ in range(3)} == {"3.000000"}
    reply = nodes.sdk(key).chat.completions.create(model="alltoken/demo",
                                                   messages=[{"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content


def test_each_process_uses_redis_under_the_cluster_prefix(nodes):
    assert nodes.redis_prefix.startswith("test-")
    with nodes.redis() as client:
        assert client.ping()
