"""Retention of raw usage rows: usage records older than `retention.usage_days` are deleted in batches.

The daily rollups (usage_daily) stay, so the usage charts keep every day; statements read the
ledger, never usage records. What goes: the per-request list (generations, CSV, account export)
and /api/v1/generation for those requests.

Two kinds of reads count raw rows, so the purge leaves them alone: budget periods (at most a
month back, hence the 32-day minimum in config.py), and a team member's limit that never resets
(all their spend since joining): the rows of such members are kept.

Every server runs it; it is idempotent across processes: each batch deletes rows that are still
there (PostgreSQL skips rows another process is deleting), and each process writes one audit
entry for the rows it deleted itself.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from ..store.models import TeamMember, UsageRecord
from . import audit

log = logging.getLogger("alltoken.retention")

SYSTEM_ACTOR = "system"


def _lifetime_member_budget():
    """The record was made by a team member whose limit never resets: their spend counts it."""
    return exists().where(TeamMember.account_id == UsageRecord.account_id, TeamMember.user_id == UsageRecord.user_id,
                          TeamMember.limit_units.is_not(None), TeamMember.limit_reset.is_(None))


async def purge_old_usage(sessions: async_sessionmaker, usage_days: float, now: datetime, batch: int) -> int:
    """Delete usage records older than `usage_days`, `batch` rows per transaction; returns how many
    this process deleted (and audits that count once, when there were any)."""
    cutoff = now - timedelta(days=usage_days)
    old = (select(UsageRecord.id).where(UsageRecord.created_at < cutoff, ~_lifetime_member_budget())
           .limit(batch).with_for_update(skip_locked=True))
    deleted = 0
    try:
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

