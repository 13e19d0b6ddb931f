"""Writing off promotional credit that expired unspent: an `expiry` ledger entry per grant."""

import asyncio
import logging
from datetime import datetime

from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from ..ids import utcnow
from ..store.models import LedgerEntry
from ..store.upsert import insert_ignoring_duplicates
from .buckets import EXPIRY_PREFIX, Buckets, Entry, expiry_request_id, replay
from .ledger import serialize_ledger_writes

log = logging.getLogger("alltoken.billing")


async def account_buckets(session: AsyncSession, account_id: str) -> Buckets:
    rows = await session.execute(
        select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.amount_units, LedgerEntry.created_at,
               LedgerEntry.expires_at, LedgerEntry.request_id)
        .where(LedgerEntry.account_id == account_id).order_by(LedgerEntry.id))
    return replay([Entry(*row) for row in rows])


async def expire_promotions(session: AsyncSession, now: datetime) -> int:
    """Write off every expired grant's unspent rest; returns how many entries were written.
    Idempotent: a grant already written off (here or by another process) is skipped."""
    written_off = aliased(LedgerEntry)
    not_yet = ~exists().where(written_off.request_id == literal(EXPIRY_PREFIX) + cast(LedgerEntry.id, String))
    accounts = (await session.execute(
        select(LedgerEntry.account_id).where(LedgerEntry.kind == "promo", LedgerEntry.expires_at <= now, not_yet)
        .distinct())).scalars().all()
    rows = []
    for account_id in accounts:
        for grant in (await account_buckets(session, account_id)).due_for_expiry(now):
            rows.append({"account_id": account_id, "kind": "expiry", "amount_units": -grant.remaining,
                         "request_id": expiry_request_id(grant), "note": "unspent promotional credit expired",
                         "actor": "system", "created_at": now})
    if rows:
        await serialize_ledger_writes(session)
        await insert_ignoring_duplicates(session, LedgerEntry.__table__, rows, unique="request_id")
    return len(rows)


async def expiry_loop(sessions: async_sessionmaker, interval: float, after_writing) -> None:
    """Run `expire_promotions` every `interval` seconds; `after_writing()` lets caches catch up."""
    while True:
        try:
            async with sessions.begin() as session:
                written = await expire_promotions(session, utcnow())
            if written:
                await after_writing()
        except Exception as exc:  # the database may be away; try again next time
            log.warning("promotional credit expiry failed, will retry: %s", type(exc).__name__)
        await asyncio.sleep(interval)
