"""Retention of raw usage rows (retention.usage_days): old usage records go in batches, the daily
rollups and what budgets count stay, once across processes, with an audit entry of the counts."""

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from alltoken import audit
from alltoken.accounts.service import create_account
from alltoken.accounts.teams import member_spent_since
from alltoken.analytics.events import UsageEvent
from alltoken.analytics.recorder import UsageRecorder
from alltoken.analytics.usage_queries import usage_summary
from alltoken.config import ConfigError, RetentionSettings, load_settings
from alltoken.governance.retention import retention_loop
from alltoken.governance.usage_retention import purge_old_usage
from alltoken.store.db import session_factory
from alltoken.store.models import TeamMember, UsageDaily, UsageRecord, User

NOW = datetime.now(UTC)
ACCOUNT = "acct_usage_retention"


def event(age_days: float, account_id: str = ACCOUNT, user_id: str | None = None, cost: int = 100) -> UsageEvent:
    return UsageEvent(id=f"gen-{secrets.token_hex(6)}", account_id=account_id, key_id=None, model="alltoken/demo",
                      provider="demo", upstream_model=None, endpoint="chat", streamed=False, prompt_tokens=3,
                      completion_tokens=5, cached_tokens=0, cache_write_tokens=0, reasoning_tokens=0,
                      cost_units=cost, latency_ms=10, ttft_ms=None, status="ok", http_status=200, error_code=None,
                      finish_reason="stop", attempts=None, created_at=NOW - timedelta(days=age_days),
                      user_id=user_id)


async def record(sessions, events: list[UsageEvent]) -> None:
    """Through the recorder, so the rollups are written as in production."""
    recorder = UsageRecorder(sessions)
    for one in events:
        recorder.record(one)
    assert await recorder.flush()


async def usage_ids(sessions) -> set[str]:
    async with sessions() as session:
        return set((await session.execute(select(UsageRecord.id))).scalars())


async def purge_audits(sessions) -> list[dict]:
    async with sessions() as session:
        entries = await audit.entries(session, target="usage_records")
    return [e for e in entries if e["action"] == "retention.usage_purge"]


async def test_old_usage_records_go_in_batches_and_the_rollups_stay(engine):
    sessions = session_factory(engine)
    old, recent = [event(40 + n % 20) for n in range(25)], [event(5), event(31), event(0)]
    await record(sessions, old + recent)
    async with sessions() as session:
        rollups_before = (await session.execute(select(func.count()).select_from(UsageDaily))).scalar_one()

    assert await purge_old_usage(sessions, usage_days=32, now=NOW, batch=10) == 25
    assert await usage_ids(sessions) == {e.id for e in recent}
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(UsageDaily))).scalar_one() == rollups_before
        summary = await usage_summary(session, ACCOUNT, (NOW - timedelta(days=365)).date(), NOW.date(), "day")
    assert summary.totals.requests == 28 and summary.totals.cost_units == 2800   # charts still count every day
    [entry] = await purge_audits(sessions)
    assert entry["actor"] == "system"
    assert entry["details"]["usage_records"] == 25 and entry["details"]["retention_days"] == 32
    assert datetime.fromisoformat(entry["details"]["older_than"]) == NOW - timedelta(days=32)

    assert await purge_old_usage(sessions, usage_days=32, now=NOW, batch=10) == 0   # nothing left: no new entry
    assert len(await purge_audits(sessions)) == 1


async def test_two_servers_purging_at_once_delete_each_row_once(engine):
    sessions = session_factory(engine)
    old, recent = [event(100) for _ in range(60)], [event(1) for _ in range(4)]
    await record(sessions, old + recent)

    counts = await asyncio.gather(*(purge_old_usage(sessions, 90, NOW, batch=7) for _ in range(2)))
    counts += [await purge_old_usage(sessions, 90, NOW, batch=7)]   # whatever one of them left for a later run
    assert sum(counts) == 60
    assert await usage_ids(sessions) == {e.id for e in recent}
    audited = [entry["details"]["usage_records"] for entry in await purge_audits(sessions)]
    assert sum(audited) == 60 and 0 not in audited


async def team_with_members(sessions) -> str:
    """A team whose members are user_lifetime (a limit that never resets), user_monthly and user_unlimited."""
    async with sessions.begin() as session:
        team = await create_account(session, f"team-retention-{secrets.token_hex(3)}@example.com", kind="team")
        await session.flush()
        for user_id, limit_reset in (("user_lifetime", None), ("user_monthly", "monthly"), ("user_unlimited", None)):
            # Only the columns users had at migration 0019: test_usage_partitions makes this team on that schema.
            await session.execute(insert(User).values(id=user_id, account_id=team.id, email=f"{user_id}@example.com",
                                                      password_hash="x", is_admin=False,
                                                      created_at=NOW - timedelta(days=400)))
            session.add(TeamMember(account_id=team.id, user_id=user_id, role="developer", limit_reset=limit_reset,
                                   limit_units=None if user_id == "user_unlimited" else 10**9,
                                   created_at=NOW - timedelta(days=400)))
    return team.id


async def test_a_members_limit_that_never_resets_keeps_the_rows_it_counts(engine):
    sessions = session_factory(engine)
    team_id = await team_with_members(sessions)
    kept = [event(200, team_id, "user_lifetime", cost=7), event(1, team_id, "user_lifetime", cost=5)]
    purged = [event(200, team_id, "user_monthly"), event(200, team_id, "user_unlimited"), event(200, team_id)]
    await record(sessions, kept + purged)

    assert await purge_old_usage(sessions, 32, NOW, batch=100) == 3
    assert await usage_ids(sessions) == {e.id for e in kept}
    async with sessions() as session:
        assert await member_spent_since(session, team_id, "user_lifetime", NOW - timedelta(days=400)) == 12


async def test_every_server_purges_old_usage_when_usage_days_is_set(engine):
    sessions = session_factory(engine)
    old, recent = event(33), event(31)
    await record(sessions, [old, recent])
    loop = asyncio.create_task(retention_loop(engine, sessions, RetentionSettings(usage_days=32,
                                                                                  purge_interval_seconds=0.05)))
    try:
        for _ in range(200):   # up to 10 s
            if await usage_ids(sessions) == {recent.id}:
                break
            await asyncio.sleep(0.05)
        assert await usage_ids(sessions) == {recent.id}
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)


def test_usage_retention_defaults_to_keeping_every_row(tmp_path):
    assert load_settings(env={}).retention.usage_days is None
    path = tmp_path / "alltoken.yaml"
    path.write_text("retention:\n  usage_days: 90\n  usage_purge_batch: 500\n")
    settings = load_settings(str(path), env={}).retention
    assert (settings.usage_days, settings.usage_purge_batch, settings.ledger_days) == (90.0, 500, 2555.0)


@pytest.mark.parametrize("text, problem", [
    ("retention:\n  usage_days: 31\n", "retention.usage_days: a number of days, at least 32"),
    ("retention:\n  usage_days: ninety\n", "retention.usage_days"),
    ("retention:\n  usage_purge_batch: 0\n", "retention.usage_purge_batch: a whole number more than 0"),
])
def test_usage_retention_settings_are_checked(tmp_path, text, problem):
    path = tmp_path / "alltoken.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        load_settings(str(path), env={})
