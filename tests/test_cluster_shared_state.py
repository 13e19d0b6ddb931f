"""Three gateway processes on one PostgreSQL and one Redis, behind a round-robin client: rate limits,
revocations, suspensions and circuit breakers hold across all of them as in one process."""

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .cluster import cluster
from .fakes.openai_upstream import API_KEY
from .harness import everywhere, wait_for

pytestmark = pytest.mark.timeout(1200)   # starting three processes on a busy machine takes a while

POLL_SECONDS = 3.0
BREAKER = {"consecutive_failures": 2, "cooldown_seconds": 300, "min_requests": 1000}


def config(primary, backup) -> dict:
    providers = [{"id": "primary", "type": "openai", "api_key": API_KEY, "base_url": primary.base_url},
                 {"id": "backup", "type": "openai", "api_key": API_KEY, "base_url": backup.base_url}]
    price = {"prompt": "0.000001", "completion": "0.000002"}
    models = [{"id": "acme/m", "routes": [{"provider": "primary", "model": "p-model", "pricing": price},
                                          {"provider": "backup", "model": "b-model", "pricing": price}]},
              {"id": "acme/spare", "routes": [{"provider": "backup", "model": "spare", "pricing": price}]}]
    # A slow fallback poll: a change seen everywhere within a second came by pub/sub.
    return {"providers": providers, "models": models, "breaker": BREAKER, "cache_refresh_interval": POLL_SECONDS}


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, fakes):
    with cluster(tmp_path_factory.mktemp("shared"), size=3, config=config(*fakes)) as running:
        yield running


@pytest.fixture
def upstreams(fakes):
    for fake in fakes:
        fake.reset()
    return fakes


CHAT = {"model": "acme/spare", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}


def chat(client: httpx.Client, **changes) -> httpx.Response:
    return client.post("/v1/chat/completions", json={**CHAT, **changes})


def limited_key(nodes, *limits: str) -> str:
    account = nodes.cli("accounts", "create", "--email", f"limits-{time.monotonic_ns()}@example.com")["id"]
    nodes.cli("credits", "grant", "--account", account, "--usd", "10")
    made = nodes.cli("keys", "create", "--account", account)
    nodes.cli("limits", "set", "--key", made["id"], *limits)
    return made["key"]


# Rate limits


def test_a_5_per_minute_limit_admits_exactly_5_across_three_processes(nodes, upstreams):
    client = nodes.client(limited_key(nodes, "--rpm", "5"))
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: chat(client), range(20)))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == 5 and statuses.count(429) == 15
    assert {answer.request.url.port for answer in answers} == {gateway.port for gateway in nodes.gateways}
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded" and 0 < int(refused.headers["retry-after"]) <= 60


def test_concurrent_requests_hold_across_processes_and_slots_come_back(nodes, upstreams):
    _, backup = upstreams
    client = nodes.client(limited_key(nodes, "--concurrency", "2"))
    for _ in range(2):
        backup.plan(delay=3.0)
    with ThreadPoolExecutor(6) as pool:
        statuses = [answer.status_code for answer in pool.map(lambda _: chat(client), range(6))]
    assert statuses.count(200) == 2 and statuses.count(429) == 4 and backup.peak == 2
    # the slots come back (a moment after each response ended), whichever process took them
    assert wait_for(lambda: [chat(client).status_code for _ in range(3)] == [200, 200, 200], timeout=10)


# Cache invalidation: pub/sub at once, the change feed's poll as the fallback


def served_by(nodes, key: str) -> list[int]:
    """Each process's answer to `key` (one request to each, in order)."""
    return [httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"},
                       timeout=30).status_code for gateway in nodes.gateways]


def test_a_key_revoked_by_the_cli_fails_on_every_process_within_a_second(nodes, upstreams):
    _, key = nodes.new_key()
    assert served_by(nodes, key) == [200, 200, 200]        # cached in every process
    nodes.cli("keys", "revoke", key_id(nodes, key))
    assert everywhere(nodes.gateways, lambda g: served_by_one(g, key) == 401)


def test_a_key_revoked_through_the_api_fails_on_every_process_within_a_second(nodes, upstreams):
    _, key = nodes.new_key()
    assert served_by(nodes, key) == [200, 200, 200]
    revoked = nodes[1].api("POST", f"/account/keys/{key_id(nodes, key)}/revoke", key)
    assert revoked.status_code == 200, revoked.text
    assert everywhere(nodes.gateways, lambda g: served_by_one(g, key) == 401)


def test_a_suspended_account_fails_on_every_process_within_a_second(nodes, upstreams):
    account, key = nodes.new_key()
    assert served_by(nodes, key) == [200, 200, 200]
    nodes.cli("accounts", "suspend", account, "--reason", "abuse report")
    assert everywhere(nodes.gateways, lambda g: served_by_one(g, key) == 403)
    nodes.cli("accounts", "unsuspend", account, "--reason", "resolved")
    assert everywhere(nodes.gateways, lambda g: served_by_one(g, key) == 200)


def test_a_lost_nudge_is_caught_by_the_change_feed_poll(nodes, upstreams):
    _, key = nodes.new_key()
    assert served_by(nodes, key) == [200, 200, 200]
    nodes.cli("keys", "revoke", key_id(nodes, key), redis=False)   # committed, but nobody is told
    assert everywhere(nodes.gateways, lambda g: served_by_one(g, key) == 401, timeout=POLL_SECONDS + 2)


def served_by_one(gateway, key: str) -> int:
    return httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"},
                      timeout=30).status_code


def key_id(nodes, key: str) -> str:
    return httpx.get(nodes[0].url + "/v1/key", headers={"Authorization": f"Bearer {key}"}).json()["data"]["id"]


# Circuit breakers


def route_breaker(gateway, route: str) -> str:
    rows = httpx.get(gateway.url + "/status", timeout=10).json()["routes"]
    return next(row["breaker"] for row in rows if row["route"] == route)


def test_a_breaker_opened_by_one_process_is_respected_by_the_others(nodes, upstreams):
    primary, backup = upstreams
    _, key = nodes.new_key()
    first, *others = nodes.gateways
    for _ in range(BREAKER["consecutive_failures"]):
        primary.plan(status=500)
        answer = httpx.post(first.url + "/v1/chat/completions", json={**CHAT, "model": "acme/m"},
                            headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert answer.headers["x-alltoken-provider"] == "backup"
    assert route_breaker(first, "primary/p-model") == "open"
    assert everywhere(others, lambda g: route_breaker(g, "primary/p-model") == "open")
    calls = len(primary.requests)
    for gateway in others:
        answer = httpx.post(gateway.url + "/v1/chat/completions", json={**CHAT, "model": "acme/m"},
                            headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert answer.status_code == 200 and answer.headers["x-alltoken-provider"] == "backup"
    assert len(primary.requests) == calls     # neither of the others tried the open route
