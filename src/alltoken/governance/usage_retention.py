"""Retention of raw usage rows: usage records older than `retention.usage_days` are deleted in batches.

The daily rollups (usage_daily) stay, so the usage charts keep every day; statements read the
ledger, never usage records. What goes: the per-request list (generations, CSV, account export)
and /api/v1/generation for those requests.

Two kinds of reads count raw rows, so the purge leaves them alone: budget periods (at most a
month back, hence the 32-day minimum in config/governance.py), and a team member's limit that never resets
(all their spend since joining): the rows of such members are kept.

On PostgreSQL, where usage_records is partitioned by month (store/usage_partitions.py), a month
that lies wholly before the cutoff and holds no such kept row is dropped whole first; the batched
deletes then take what is left (kept members' months, the DEFAULT partition, part of a month).

Every server runs it; it is idempotent across processes: each batch deletes rows that are still
there (PostgreSQL skips rows another process is deleting), a month is dropped by one process under
the partitions' lock, and each process writes one audit entry for the rows it deleted itself.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import column, delete, exists, func, select, table, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from alltoken import audit
from alltoken.store.models import TeamMember, UsageRecord
from alltoken.store.usage_partitions import is_partitioned, lock_partitions, month_partitions, next_month

log = logging.getLogger("alltoken.retention")

SYSTEM_ACTOR = "system"


def _lifetime_member_budget(records=UsageRecord.__table__):
    """The record was made by a team member whose limit never resets: their spend counts it."""
    return exists().where(TeamMember.account_id == records.c.account_id, TeamMember.user_id == records.c.user_id,
                          TeamMember.limit_units.is_not(None), TeamMember.limit_reset.is_(None))


async def _drop_old_months(sessions: async_sessionmaker, cutoff: datetime) -> int:
    """Drop the month partitions wholly before `cutoff` that hold no kept row; returns their rows."""
    async with sessions() as session:
        if not await is_partitioned(session):
            return 0
        months = await month_partitions(session)
    dropped = 0
    for name, month in sorted(months.items(), key=lambda item: item[1]):
        if next_month(month) > cutoff:
            break
        async with sessions.begin() as session:   # one month per transaction: DROP locks the whole table
            await lock_partitions(session)
            if name not in await month_partitions(session):
                continue   # another server dropped it meanwhile
            partition = table(name, column("account_id"), column("user_id"))
            if (await session.execute(select(_lifetime_member_budget(partition)))).scalar():
                continue
            dropped += (await session.execute(select(func.count()).select_from(partition))).scalar_one()
            await session.execute(text(f'DROP TABLE "{name}"'))
    return dropped


async def purge_old_usage(sessions: async_sessionmaker, usage_days: float, now: datetime, batch: int) -> int:
    """Delete usage records older than `usage_days`, `batch` rows per transaction; returns how many
    this process deleted (and audits that count once, when there were any)."""
    cutoff = now - timedelta(days=usage_days)
    old = (select(UsageRecord.id).where(UsageRecord.created_at < cutoff, ~_lifetime_member_budget())
           .limit(batch).with_for_update(skip_locked=True))
    deleted = 0
    try:
        deleted += await _drop_old_months(sessions, cutoff)
        while True:
            async with sessions.begin() as session:
                gone = await session.execute(delete(UsageRecord).where(UsageRecord.id.in_(old))
                                             .execution_options(synchronize_session=False))
            deleted += gone.rowcount
            if gone.rowcount < batch:
                break
    finally:  # also after a failed batch: the batches before it are gone and must be accounted for
        if deleted:
            async with sessions.begin() as session:
                await audit.record(session, SYSTEM_ACTOR, "retention.usage_purge", "usage_records",
                                   {"usage_records": deleted, "older_than": cutoff.isoformat(),
                                    "retention_days": usage_days})
            log.info("retention: deleted %d usage records older than %s", deleted, cutoff.isoformat())
    return deleted

