"""Monthly partitions of usage_records on PostgreSQL (SQLite keeps one plain table).

usage_records is partitioned by range of created_at: one partition per calendar month (UTC), named
usage_records_YYYY_MM, and a DEFAULT partition for a row no month covers, so an insert never fails.
Time-bounded reads (usage pages, budget periods) touch only their months, and retention drops a
month whole instead of deleting its rows one by one (governance/usage_retention.py).

Migration 0020 converts the table and creates the months from its oldest row to MONTHS_AHEAD
months ahead; every server then keeps MONTHS_AHEAD months ahead at start and at each retention
round. A month whose rows already went to the DEFAULT partition (no server ran for months) cannot
be created until they are moved, and is left to the DEFAULT partition with a warning.
"""

import asyncio
import logging
import re
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger("alltoken.store")

MONTHS_AHEAD = 2
CHECK_INTERVAL_SECONDS = 3600.0
TABLE = "usage_records"
DEFAULT_PARTITION = f"{TABLE}_default"
_LOCK = 7226002                      # pg_advisory_xact_lock key: one process changes partitions at a time
_NAME = re.compile(rf"^{TABLE}_(\d{{4}})_(\d{{2}})$")


def month_of(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def months_from(first: datetime, last: datetime) -> list[datetime]:
    months, month = [], month_of(first)
    while month <= month_of(last):
        months.append(month)
        month = next_month(month)
    return months


def last_month_ahead(now: datetime) -> datetime:
    """The last month that should have its partition by now."""
    month = month_of(now)
    for _ in range(MONTHS_AHEAD):
        month = next_month(month)
    return month


def partition_name(month: datetime) -> str:
    return f"{TABLE}_{month:%Y_%m}"


def month_of_partition(name: str) -> datetime | None:
    found = _NAME.match(name)
    return datetime(int(found[1]), int(found[2]), 1, tzinfo=UTC) if found else None


def create_partition_sql(month: datetime) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {TABLE} "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')")


async def is_partitioned(session: AsyncSession) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    kind = await session.execute(text("SELECT relkind::text FROM pg_class WHERE oid = to_regclass(:table)"),
                                 {"table": TABLE})
    return kind.scalar_one_or_none() == "p"


async def ensure_months_ahead(session: AsyncSession, now: datetime) -> None:
    """Create this month's partition and the next MONTHS_AHEAD months' where missing."""
    if not await is_partitioned(session):
        return
    await lock_partitions(session)
    for month in months_from(now, last_month_ahead(now)):
        try:
            async with session.begin_nested():
                await session.execute(text(create_partition_sql(month)))
        except DBAPIError as exc:   # rows of that month are in the DEFAULT partition already
            log.warning("cannot create usage partition %s (rows of that month are in %s): %s",
                        partition_name(month), DEFAULT_PARTITION, str(exc.orig).splitlines()[0])


async def month_partitions(session: AsyncSession) -> dict[str, datetime]:
    """The month partitions that exist: name -> first day of the month."""
    names = await session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:table)"), {"table": TABLE})
    return {name: month for name in names.scalars() if (month := month_of_partition(name)) is not None}


async def lock_partitions(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _LOCK})


async def keep_months_ahead(sessions: async_sessionmaker, interval: float = CHECK_INTERVAL_SECONDS) -> None:
    """Every server, at start and then every `interval` seconds."""
    while True:
        try:
            async with sessions.begin() as session:
                await ensure_months_ahead(session, datetime.now(UTC))
        except Exception as exc:  # the database may be away; the DEFAULT partition takes rows meanwhile
            log.warning("could not check the usage partitions, will retry: %s", type(exc).__name__)
        await asyncio.sleep(interval)
