"""Writing off promotional credit that expired unspent: an `expiry` ledger entry per grant.

The credit books write an account's grants off as soon as they are read past an expiry
(billing/reservations.py), and say how much the charges they settled but have not written yet
take from those grants; `expiry_loop` does the same for every account with a grant past its expiry,
through the book, for accounts nobody reads. One entry per grant, whichever process gets there first.
"""

import asyncio
import logging
from datetime import datetime

from sqlalchemy import String, and_, cast, exists, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from alltoken.billing.buckets import EXPIRY_PREFIX, Buckets, Entry, expiry_request_id, replay
from alltoken.billing.ledger import serialize_ledger_writes
from alltoken.ids import utcnow
from alltoken.store.models import LedgerEntry
from alltoken.store.upsert import insert_ignoring_duplicates

log = logging.getLogger("alltoken.billing")


async def account_buckets(session: AsyncSession, account_id: str, up_to_id: int | None = None) -> Buckets:
    query = (select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.amount_units, LedgerEntry.created_at,
                    LedgerEntry.expires_at, LedgerEntry.request_id)
             .where(LedgerEntry.account_id == account_id).order_by(LedgerEntry.id))
    if up_to_id is not None:
        query = query.where(LedgerEntry.id <= up_to_id)
    return replay([Entry(*row) for row in await session.execute(query)])


async def write_off_expired(session: AsyncSession, account_id: str, now: datetime, up_to_id: int | None = None,
                            in_flight_units: int = 0) -> list[int]:
    """Write off what is left of the account's grants past their expiry, as the ledger stands up to
    `up_to_id`, less `in_flight_units`: charges settled and not in the ledger up to there, which
    spend these grants first (the earliest expiry first). Every such grant gets its entry, for 0
    when nothing is left, so that it is never looked at again; one written off already (here or by
    another process) is skipped. Returns the ids of the grants past their expiry as of `up_to_id`."""
    buckets = await account_buckets(session, account_id, up_to_id)
    rows = []
    for grant in buckets.expired_unwritten(now):
        theirs = min(grant.remaining, in_flight_units)
        in_flight_units -= theirs
        rows.append({"account_id": account_id, "kind": "expiry", "amount_units": theirs - grant.remaining,
                     "request_id": expiry_request_id(grant), "note": "unspent promotional credit expired",
                     "actor": "system", "created_at": now})
    if rows:
        await serialize_ledger_writes(session)
        await insert_ignoring_duplicates(session, LedgerEntry.__table__, rows, unique="request_id")
    return [g.entry_id for g in buckets.promos if g.expires_at is not None and g.expires_at <= now]


async def accounts_with_expired_grants(session: AsyncSession, now: datetime) -> list[str]:
    """Accounts with a promotional grant past its expiry and no write-off entry for it."""
    written_off = aliased(LedgerEntry)
    not_yet = ~exists().where(written_off.request_id == literal(EXPIRY_PREFIX) + cast(LedgerEntry.id, String))
    return list((await session.execute(
        select(LedgerEntry.account_id).where(LedgerEntry.kind == "promo", LedgerEntry.expires_at <= now, not_yet)
        .distinct())).scalars())


async def expiring_grants(session: AsyncSession, account_id: str, up_to_id: int) -> dict[int, tuple[datetime, int]]:
    """The account's promotional grants with an expiry and no write-off entry, up to ledger row `up_to_id`:
    grant id -> (when it expires, its amount)."""
    written_off = aliased(LedgerEntry)
    not_yet = ~exists().where(and_(written_off.request_id == literal(EXPIRY_PREFIX) + cast(LedgerEntry.id, String),
                                   written_off.id <= up_to_id))
    rows = await session.execute(
        select(LedgerEntry.id, LedgerEntry.expires_at, LedgerEntry.amount_units)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.kind == "promo", LedgerEntry.expires_at.is_not(None),
               LedgerEntry.id <= up_to_id, not_yet))
    return {grant_id: (expires_at, amount) for grant_id, expires_at, amount in rows if expires_at is not None}


async def expiry_loop(sessions: async_sessionmaker, interval: float, write_off) -> None:
    """Every `interval` seconds, `write_off(account_id)` (the credit book's) for each account with a
    grant past its expiry."""
    while True:
        try:
            async with sessions() as session:
                accounts = await accounts_with_expired_grants(session, utcnow())
            for account_id in accounts:
                await write_off(account_id)
        except Exception as exc:  # the database may be away; try again next time
            log.warning("promotional credit expiry failed, will retry: %s", type(exc).__name__)
        await asyncio.sleep(interval)
