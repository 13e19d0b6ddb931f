"""The durable usage path: usage and charges appended to a Redis stream are written to the database
once, even when the process that read them died before writing (another claims them), and when a
batch is written twice."""

import asyncio
import secrets
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from alltoken.accounts.service import create_account
from alltoken.analytics.events import UsageEvent
from alltoken.analytics.recorder import UsageRecorder
from alltoken.analytics.rollups import COUNTERS
from alltoken.analytics.usage_stream import DurableUsage, decode, encode
from alltoken.billing.ledger import Charge
from alltoken.store.db import session_factory
from alltoken.store.models import LedgerEntry, UsageDaily, UsageRecord
from alltoken.store.redis_client import open_redis

from .test_redis_book import REDIS_URL, drop_keys


def _event(rid: str, account_id: str, cost: int) -> UsageEvent:
    return UsageEvent(id=rid, account_id=account_id, key_id=None, model="demo/echo", provider="demo",
                      upstream_model="echo", endpoint="chat", streamed=True, prompt_tokens=10, completion_tokens=5,
                      cached_tokens=0, cache_write_tokens=0, reasoning_tokens=0, cost_units=cost, latency_ms=12,
                      ttft_ms=3, status="ok", http_status=200, error_code=None, finish_reason="stop",
                      attempts=[{"route": "demo/echo", "status": "ok"}], created_at=datetime.now(UTC))


@pytest.fixture
async def setup(engine):
    """(sessions, account id, make) where make(claim_idle) -> a DurableUsage standing for one process."""
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, f"{secrets.token_hex(4)}@example.com")
    prefix = f"test-{secrets.token_hex(6)}:"
    clients = [open_redis(REDIS_URL)]

    def make(claim_idle: float = 5.0) -> DurableUsage:
        client = open_redis(REDIS_URL)
        clients.append(client)
        return DurableUsage(client, prefix, UsageRecorder(sessions), sessions, interval=0.05, claim_idle=claim_idle)

    yield sessions, account.id, make
    await drop_keys(clients[0], prefix)
    for client in clients:
        await client.aclose()


async def _counts(sessions, account_id: str) -> tuple[int, int, int, int]:
    """(usage records, their cost sum, usage charges' sum, rollup requests) of the account."""
    async with sessions() as session:
        records, cost = (await session.execute(select(func.count(), func.coalesce(func.sum(UsageRecord.cost_units), 0))
                                               .where(UsageRecord.account_id == account_id))).one()
        charged = (await session.execute(select(func.coalesce(func.sum(LedgerEntry.amount_units), 0))
                                         .where(LedgerEntry.account_id == account_id,
                                                LedgerEntry.kind == "usage"))).scalar_one()
        requests = (await session.execute(select(func.coalesce(func.sum(UsageDaily.requests), 0))
                                          .where(UsageDaily.account_id == account_id))).scalar_one()
    return int(records), int(cost), -int(charged), int(requests)


def test_an_entry_decodes_to_the_same_event_and_charge():
    event = _event("gen-1", "acct", 40)
    fields = {name: value.decode() for name, value in encode(event, Charge("acct", "gen-1", 40)).items()}
    assert decode(fields) == (event, Charge("acct", "gen-1", 40))
    assert decode({"event": encode(event, Charge("acct", "gen-1", 0))["event"].decode()}) == (event, None)


async def test_recorded_usage_is_appended_then_written_once(setup):
    sessions, account_id, make = setup
    usage = make()
    usage.start()
    for number in range(20):
        usage.record(_event(f"gen-{number}", account_id, 100), Charge(account_id, f"gen-{number}", 100))
    await usage.appended("gen-19")
    assert usage.pending("gen-3").cost_units == 100  # readable before it lands
    for _ in range(100):
        if (await _counts(sessions, account_id))[0] == 20:
            break
        await asyncio.sleep(0.05)
    await usage.close()
    assert await _counts(sessions, account_id) == (20, 2000, 2000, 20)


async def test_entries_a_dead_process_read_are_claimed_and_written_by_another(setup):
    sessions, account_id, make = setup
    dead, survivor = make(claim_idle=0.2), make(claim_idle=0.2)
    for number in range(5):
        dead.record(_event(f"gen-{number}", account_id, 7), Charge(account_id, f"gen-{number}", 7))
    await dead.appended("gen-4")
    await dead._ensure_group()
    assert len(await dead._read_new()) == 5  # read, then the process is killed before writing them
    assert await survivor.write_pending(own=False) == 0  # not idle long enough yet
    await asyncio.sleep(0.3)
    assert await survivor.write_pending(own=False) == 5
    assert await _counts(sessions, account_id) == (5, 35, 35, 5)
    assert await survivor._redis.xlen(survivor._stream) == 0  # written entries leave the stream


async def test_a_batch_written_twice_counts_once(setup):
    sessions, account_id, make = setup
    first, second = make(), make()
    first.record(_event("gen-a", account_id, 9), Charge(account_id, "gen-a", 9))
    await first.appended("gen-a")
    await first._ensure_group()
    entries = await first._read_new()
    await second._write(entries)   # claimed and written elsewhere while this process was slow
    await first._write(entries)
    assert await _counts(sessions, account_id) == (1, 9, 9, 1)
    async with sessions() as session:
        rollup = (await session.execute(select(UsageDaily).where(UsageDaily.account_id == account_id))).scalar_one()
    assert [getattr(rollup, name) for name in COUNTERS][:1] == [1]


async def test_with_redis_away_usage_falls_back_to_the_in_memory_batch(setup):
    sessions, account_id, _ = setup
    local = UsageRecorder(sessions)
    usage = DurableUsage(open_redis("redis://127.0.0.1:1/2"), "test-down:", local, sessions)
    usage.record(_event("gen-x", account_id, 5), Charge(account_id, "gen-x", 5))
    await usage.appended("gen-x")
    assert local.unwritten == 1
    assert await local.flush()
    assert await _counts(sessions, account_id) == (1, 5, 5, 1)
