"""Three gateway processes on one PostgreSQL and one Redis, behind a round-robin client: rate limits,
revocations, suspensions and circuit breakers hold across all of them as in one process."""

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .cluster import cluster
from .fakes.openai_upstream import API_KEY
from .harness import wait_for

BREAKER = {"consecutive_failures": 2, "cooldown_seconds": 300, "min_requests": 1000}


def config(primary, backup) -> dict:
    providers = [{"id": "primary", "type": "openai", "api_key": API_KEY, "base_url": primary.base_url},
                 {"id": "backup", "type": "openai", "api_key": API_KEY, "base_url": backup.base_url}]
    price = {"prompt": "0.000001", "completion": "0.000002"}
    models = [{"id": "acme/m", "routes": [{"provider": "primary", "model": "p-model", "pricing": price},
                                          {"provider": "backup", "model": "b-model", "pricing": price}]},
              {"id": "acme/spare", "routes": [{"provider": "backup", "model": "spare", "pricing": price}]}]
    return {"providers": providers, "models": models, "breaker": BREAKER}


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
