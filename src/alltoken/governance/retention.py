"""Retention of a deleted account's records: kept as long as the law requires, then purged.

Each ledger entry (and terms acceptance) of a deleted account is purged once it is older than
`retention.ledger_days`. Every server runs the purge; it is idempotent across processes: a row is
deleted once, and only the process that deleted rows writes the audit entry for them.
"""

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alltoken import audit
from alltoken.config import RetentionSettings
from alltoken.governance.deletion import detach_usage
from alltoken.governance.usage_retention import purge_old_usage
from alltoken.ids import utcnow
from alltoken.store.db import flush_erased_data
from alltoken.store.models import AccountDeletion, LedgerEntry, TermsAcceptance

log = logging.getLogger("alltoken.retention")

SYSTEM_ACTOR = "system"


async def purge_expired(session: AsyncSession, ledger_days: float, now: datetime) -> dict[str, dict]:
    """Purge what is past retention; returns, per account, how many rows of each kind went."""
    deleted_accounts = select(AccountDeletion.account_id)
    await detach_usage(session, deleted_accounts)  # a request still in flight at deletion was recorded later
    cutoff = now - timedelta(days=ledger_days)
    # SQLite hands the largest id out again once it is deleted, and servers follow the ledger by id:
    # the newest entry of all stays until a newer one exists.
    newest = select(func.max(LedgerEntry.id)).scalar_subquery()
    ledger = await session.execute(
        delete(LedgerEntry).where(LedgerEntry.account_id.in_(deleted_accounts), LedgerEntry.created_at < cutoff,
                                  LedgerEntry.id < newest)
        .returning(LedgerEntry.account_id).execution_options(synchronize_session=False))
    acceptances = await session.execute(
        delete(TermsAcceptance).where(TermsAcceptance.account_id.in_(deleted_accounts),
                                      TermsAcceptance.accepted_at < cutoff)
        .returning(TermsAcceptance.account_id).execution_options(synchronize_session=False))
    purged = _per_account(ledger_entries=Counter(ledger.scalars()), terms_acceptances=Counter(acceptances.scalars()))
    for account_id, counts in purged.items():
        await audit.record(session, SYSTEM_ACTOR, "retention.purge", account_id,
                           {**counts, "retention_days": ledger_days})
    return purged


def _per_account(**counters: Counter) -> dict[str, dict]:
    accounts = set().union(*counters.values())
    return {account: {kind: counter[account] for kind, counter in counters.items() if counter[account]}
            for account in accounts}


async def retention_loop(engine: AsyncEngine, sessions: async_sessionmaker, settings: RetentionSettings) -> None:
    while True:
        try:
            async with sessions.begin() as session:
                purged = await purge_expired(session, settings.ledger_days, utcnow())
            if purged:
                await flush_erased_data(engine)
                log.info("retention: purged the expired records of %d deleted account(s)", len(purged))
            if settings.usage_days is not None:
                await purge_old_usage(sessions, settings.usage_days, utcnow(), settings.usage_purge_batch)
        except Exception as exc:  # the database may be away; try again next time
            log.warning("retention purge failed, will retry: %s", type(exc).__name__)
        await asyncio.sleep(settings.purge_interval_seconds)
