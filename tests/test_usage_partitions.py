"""usage_records partitioned by month on PostgreSQL (migration 0020, store/usage_partitions.py): the
conversion keeps every row in its month, usage writes stay idempotent by id, months are created
ahead by any number of servers at once, and retention drops whole months it may."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import column, func, insert, select, table, text

from alltoken.analytics.events import UsageEvent
from alltoken.analytics.recorder import write_usage
from alltoken.governance.usage_retention import purge_old_usage
from alltoken.store.db import create_engine, session_factory
from alltoken.store.migrate import alembic_config
from alltoken.store.models import UsageRecord
from alltoken.store.usage_partitions import (
    DEFAULT_PARTITION,
    ensure_months_ahead,
    month_of,
    month_partitions,
    next_month,
    partition_name,
)

from .conftest import fresh_postgres_database
from .test_usage_retention import event, record, team_with_members

NOW = datetime.now(UTC)


@pytest.fixture
async def pg():
    """A fresh PostgreSQL database, not migrated yet: (engine, sessions)."""
    async with fresh_postgres_database() as url:
        engine = create_engine(url)
        yield engine, session_factory(engine)
        await engine.dispose()


async def migrate(engine, action, target: str) -> None:
    def run(connection):
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config, target)
    async with engine.begin() as connection:
        await connection.run_sync(run)


async def placement(sessions) -> dict[str, str]:
    """usage record id -> the partition (or table) holding it."""
    async with sessions() as session:
        rows = await session.execute(text("SELECT id, tableoid::regclass::text FROM usage_records"))
    return dict(rows.all())


async def primary_key(sessions) -> list[str]:
    async with sessions() as session:
        found = await session.execute(text(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'usage_records'::regclass AND i.indisprimary "
            "ORDER BY array_position(i.indkey, a.attnum)"))
    return list(found.scalars())


async def test_the_migration_puts_every_row_in_its_month_and_back(pg):
    engine, sessions = pg
    await migrate(engine, command.upgrade, "0019")
    ages = {"this month": 0, "three months back": 92, "a year back": 365}
    events = {label: event(days) for label, days in ages.items()}
    await record_as_0019(sessions, list(events.values()))

    await migrate(engine, command.upgrade, "head")
    placed = await placement(sessions)
    for label, one in events.items():
        assert placed[one.id] == partition_name(month_of(one.created_at)), label
    months = await _months(sessions)
    assert months[0] == month_of(NOW - timedelta(days=365))
    assert months[-1] == next_month(next_month(month_of(NOW)))            # two months ahead
    assert months == sorted(set(months)) and len(months) >= 15           # every month in between
    assert await primary_key(sessions) == ["id", "created_at"]

    await migrate(engine, command.downgrade, "0019")
    assert set((await placement(sessions)).values()) == {"usage_records"}
    assert set(await placement(sessions)) == {one.id for one in events.values()}
    assert await primary_key(sessions) == ["id"]


async def test_a_batch_written_twice_counts_once_without_a_unique_index_on_id(pg):
    engine, sessions = pg
    await migrate(engine, command.upgrade, "head")
    batch = [event(0), event(0)]
    batch.append(batch[0])                         # the same record twice in one batch, too
    for _ in range(2):
        async with sessions.begin() as session:
            await write_usage(session, batch, [])
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(UsageRecord))).scalar_one() == 2


async def test_servers_create_the_months_ahead_at_once_but_not_one_the_default_partition_holds(pg, caplog):
    engine, sessions = pg
    await migrate(engine, command.upgrade, "head")
    following = next_month(month_of(NOW))
    later = next_month(next_month(following))                    # one month past what the migration made
    await record(sessions, [event(-((later - NOW).total_seconds() / 86400 + 1))])   # into the DEFAULT partition

    async def ensure():
        async with sessions.begin() as session:
            await ensure_months_ahead(session, following + timedelta(days=1))   # wants `later` too
    with caplog.at_level(logging.WARNING, logger="alltoken.store"):
        await asyncio.gather(*(ensure() for _ in range(4)))
    assert later not in await _months(sessions)
    assert "cannot create usage partition " + partition_name(later) in caplog.text
    assert set((await placement(sessions)).values()) == {DEFAULT_PARTITION}

    async with sessions.begin() as session:
        await session.execute(text(f"DELETE FROM {DEFAULT_PARTITION}"))
    await ensure()
    assert later in await _months(sessions)


async def test_retention_drops_whole_old_months_and_deletes_within_the_month_it_cuts(pg):
    engine, sessions = pg
    await migrate(engine, command.upgrade, "0019")
    cutoff = NOW - timedelta(days=100)
    into_its_month = (cutoff - month_of(cutoff)).total_seconds() / 86400 / 2
    old = [event(130 + n) for n in range(6)] + [event(200), event(100 + into_its_month)]
    recent = [event(1), event(10)]
    team_id = await team_with_members(sessions)
    kept = event(250, team_id, "user_lifetime")                     # a lifetime budget counts it: its month stays
    await record_as_0019(sessions, old + recent + [kept])
    await migrate(engine, command.upgrade, "head")                  # which makes their months
    whole_old = {month_of(one.created_at) for one in old} - {month_of(cutoff), month_of(kept.created_at)}
    assert whole_old <= set(await _months(sessions))

    assert await purge_old_usage(sessions, usage_days=100, now=NOW, batch=3) == len(old)
    remaining = set(await _months(sessions))
    assert whole_old and not whole_old & remaining                  # dropped, not emptied
    assert month_of(cutoff) in remaining and month_of(kept.created_at) in remaining
    assert set(await placement(sessions)) == {one.id for one in recent + [kept]}


async def record_as_0019(sessions, events: list[UsageEvent]) -> None:
    """Usage records as a release at migration 0019 wrote them: its columns only (the recorder writes
    today's, which the old table does not have all of)."""
    old = table("usage_records", *(column(name) for name in _COLUMNS_AT_0019))
    async with sessions.begin() as session:
        await session.execute(insert(old), [{name: getattr(one, name) for name in _COLUMNS_AT_0019}
                                            for one in events])


_COLUMNS_AT_0019 = [name for name in UsageRecord.__table__.columns.keys() if name != "uncollected_units"]   # 0022


async def _months(sessions) -> list[datetime]:
    async with sessions() as session:
        return sorted((await month_partitions(session)).values())
