"""Balances, key limits and usage across three gateway processes on one PostgreSQL and one Redis
(tests/cluster.py, round-robin client): 500 concurrent requests never overspend and leave the
balance exact, and SIGKILL of a process loses no usage record of a response that completed."""

import asyncio
from decimal import Decimal

import httpx
import pytest

from alltoken.money import usd_to_units

from .cluster import Cluster
from .conftest import openai_config
from .harness import wait_for
from .pricing_helpers import expected_cost

REDIS_URL = "redis://127.0.0.1:6379/2"
MODEL = "openai/gpt-4o-mini"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 7}
COST = expected_cost(MODEL, prompt=5, completion=7)   # what the fake upstream reports for BODY

pytestmark = pytest.mark.timeout(600)   # three gateway processes start (and are loaded) on two shared cores


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, fake_openai):
    # The upstream reports usage within the request's bounds, so the hold covers the charge (no overdraft).
    fake_openai.default.prompt_tokens = 5
    config = openai_config(fake_openai, usage_claim_idle_seconds=1.0)
    cluster = Cluster(tmp_path_factory.mktemp("scale-credits"), 3, config, redis_url=REDIS_URL)
    cluster.start()
    yield cluster
    cluster.stop()
    fake_openai.default.prompt_tokens = 21


def _storm(nodes: Cluster, key: str, count: int = 500) -> list[int]:
    _seen_by_every_node(nodes, key)  # each process has the key cached first: the storm is about credits

    async def run() -> list[int]:
        async with nodes.async_client(key) as client:
            responses = await asyncio.gather(*(client.post("/v1/chat/completions", json=BODY) for _ in range(count)))
        return [response.status_code for response in responses]

    return asyncio.run(run())


def _ledger(nodes: Cluster, account: str) -> tuple[int, int, int]:
    """(balance, sum of usage charges, number of usage charges) in the database, in units."""
    ((balance, charged, charges),) = nodes.sql(
        "SELECT COALESCE(SUM(amount_units), 0), COALESCE(SUM(-amount_units) FILTER (WHERE kind = 'usage'), 0), "
        "COUNT(*) FILTER (WHERE kind = 'usage') FROM ledger_entries WHERE account_id = $1", account)
    return int(balance), int(charged), int(charges)


def _usage(nodes: Cluster, account: str) -> tuple[int, int]:
    """(served requests, their recorded cost) in the usage records, in units."""
    ((served, cost),) = nodes.sql("SELECT COUNT(*), COALESCE(SUM(cost_units), 0) FROM usage_records "
                                  "WHERE account_id = $1 AND status = 'ok'", account)
    return int(served), int(cost)


def _seen_by_every_node(nodes: Cluster, key: str) -> set[Decimal]:
    return {Decimal(httpx.get(gateway.url + "/v1/credits", headers={"Authorization": f"Bearer {key}"}, timeout=60)
                    .json()["data"]["balance_usd"]) for gateway in nodes.gateways}


def test_five_hundred_concurrent_requests_never_overspend_a_balance(nodes):
    covers = 40
    grant = usd_to_units(str(covers * COST))
    account, key = nodes.new_key(usd=str(covers * COST))
    statuses = _storm(nodes, key)
    served = statuses.count(200)
    assert set(statuses) <= {200, 402} and 0 < served <= covers
    cost = usd_to_units(str(COST))
    assert wait_for(lambda: _usage(nodes, account)[0] == served and _ledger(nodes, account)[2] == served, timeout=10)
    balance, charged, _ = _ledger(nodes, account)
    assert _usage(nodes, account) == (served, charged) and charged == served * cost
    assert balance == grant - charged >= 0
    assert {usd_to_units(str(usd)) for usd in _seen_by_every_node(nodes, key)} == {balance}  # every process agrees


def test_five_hundred_concurrent_requests_never_pass_a_key_limit(nodes):
    covers = 25
    account, key = nodes.new_key(usd="10", limit_usd=str(covers * COST))
    statuses = _storm(nodes, key)
    served = statuses.count(200)
    assert set(statuses) <= {200, 402} and 0 < served <= covers
    assert wait_for(lambda: _usage(nodes, account)[0] == served, timeout=10)
    _, spent = _usage(nodes, account)
    assert spent == served * usd_to_units(str(COST)) <= usd_to_units(str(covers * COST))
    ((key_spent,),) = nodes.sql("SELECT spent_units FROM api_keys WHERE account_id = $1", account)
    assert key_spent == spent
    refused = httpx.post(nodes[0].url + "/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer {key}"})
    if served == covers:
        assert refused.status_code == 402 and refused.json()["error"]["code"] == "key_limit_reached"


@pytest.mark.holds_lapse
def test_sigkill_mid_load_loses_no_usage_of_a_completed_response(nodes, fake_openai):
    account, key = nodes.new_key(usd="10")
    body = {**BODY, "stream": True}
    fake_openai.default.chunk_delay = 0.02
    victim = nodes[1]

    served, well_into_the_load = 0, asyncio.Event()

    async def one(client: httpx.AsyncClient, gate: asyncio.Semaphore) -> tuple[str | None, bool]:
        nonlocal served
        async with gate:
            try:
                async with client.stream("POST", "/v1/chat/completions", json=body) as response:
                    text = (await response.aread()).decode()
                    done = response.status_code == 200 and "[DONE]" in text
            except httpx.HTTPError:
                return None, False
            served += done
            if served >= 150:
                well_into_the_load.set()
            return response.headers.get("x-request-id"), done

    _seen_by_every_node(nodes, key)

    async def load() -> list[tuple[str | None, bool]]:
        gate = asyncio.Semaphore(60)
        async with nodes.async_client(key) as client:
            requests = [asyncio.create_task(one(client, gate)) for _ in range(600)]
            await asyncio.wait_for(well_into_the_load.wait(), timeout=120)
            victim.process.kill()   # SIGKILL: no shutdown, no flush
            return await asyncio.gather(*requests)

    try:
        results = asyncio.run(load())
    finally:
        fake_openai.default.chunk_delay = 0.0
    completed = {request_id for request_id, done in results if done}
    assert victim.process.wait(timeout=5) == -9
    assert len(completed) > 100 and len(completed) < len(results)  # the kill landed mid-load

    def missing() -> set[str]:
        recorded = {row[0] for row in nodes.sql("SELECT id FROM usage_records WHERE account_id = $1", account)}
        charged = {row[0] for row in nodes.sql("SELECT request_id FROM ledger_entries WHERE account_id = $1 "
                                               "AND kind = 'usage'", account)}
        return completed - (recorded & charged)

    assert wait_for(lambda: not missing(), timeout=20), f"{len(missing())} completed requests lost their usage"
