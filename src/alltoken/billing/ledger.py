"""The ledger: immutable money movements. Balance = sum of an account's entries."""

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.ids import utcnow
from alltoken.money import usd_to_units
from alltoken.store.models import LedgerEntry
from alltoken.store.upsert import insert_ignoring_duplicates

GRANT_KINDS = ("topup", "promo", "adjustment")


@dataclass(frozen=True, slots=True)
class Charge:
    """A settled usage charge, written once per request id: `units` collected, and what the request
    cost beyond what its balance and limits could take (docs/billing.md, "Uncollected cost")."""

    account_id: str
    request_id: str
    units: int
    uncollected_units: int = 0

    @property
    def written(self) -> bool:
        """A request that cost nothing has no ledger entry."""
        return bool(self.units or self.uncollected_units)


class LedgerRow(NamedTuple):
    """A ledger row as the credit books take it in (billing/reservations.py)."""

    id: int
    account_id: str
    amount_units: int
    request_id: str | None = None
    promo_expires_at: datetime | None = None    # a promotional grant that expires


class ExpiredGrant(ValueError):
    """A grant whose expiry has already passed: it could never be spent."""


async def grant(session: AsyncSession, account_id: str, usd: str, *, kind: str = "topup",
                expires_at: datetime | None = None, note: str | None = None, actor: str | None = None) -> LedgerEntry:
    if kind not in GRANT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(GRANT_KINDS)}")
    units = usd_to_units(usd)
    if units == 0 or (units < 0 and kind != "adjustment"):
        raise ValueError("a grant must be a positive amount (negative amounts only as an adjustment)")
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise ExpiredGrant(f"the expiry {expires_at.isoformat()} has already passed (it is now "
                           f"{now.isoformat(timespec='seconds')}): credit granted with it could never be spent; "
                           "give a time in the future")
    await serialize_ledger_writes(session)
    entry = LedgerEntry(account_id=account_id, kind=kind, amount_units=units, expires_at=expires_at,
                        note=note, actor=actor, created_at=now)
    session.add(entry)
    return entry


async def balance_units(session: AsyncSession, account_id: str, up_to_id: int | None = None) -> int:
    query = select(func.coalesce(func.sum(LedgerEntry.amount_units), 0)).where(LedgerEntry.account_id == account_id)
    if up_to_id is not None:
        query = query.where(LedgerEntry.id <= up_to_id)
    return int((await session.execute(query)).scalar_one())


async def write_charges(session: AsyncSession, charges: list[Charge]) -> None:
    """Insert usage charges; a request id already charged is skipped (idempotent settlement)."""
    if not charges:
        return
    await serialize_ledger_writes(session)
    now = utcnow()
    rows = [{"account_id": c.account_id, "kind": "usage", "amount_units": -c.units, "request_id": c.request_id,
             "uncollected_units": c.uncollected_units, "created_at": now} for c in charges]
    await insert_ignoring_duplicates(session, LedgerEntry.__table__, rows, unique="request_id")


_PROMO_EXPIRY = case((LedgerEntry.kind == "promo", LedgerEntry.expires_at), else_=None)


async def entries_after(session: AsyncSession, cursor: int) -> list[LedgerRow]:
    rows = await session.execute(
        select(LedgerEntry.id, LedgerEntry.account_id, LedgerEntry.amount_units, LedgerEntry.request_id,
               _PROMO_EXPIRY).where(LedgerEntry.id > cursor).order_by(LedgerEntry.id))
    return [LedgerRow(*row) for row in rows]


async def latest_entry_id(session: AsyncSession) -> int:
    return int((await session.execute(select(func.coalesce(func.max(LedgerEntry.id), 0)))).scalar_one())


async def serialize_ledger_writes(session: AsyncSession) -> None:
    """Make ledger ids commit in order, so a reader's cursor never skips a late-committing row (and
    let usage writers check which records are new before inserting them: store/upsert.insert_new).

    SQLite has one writer at a time already; PostgreSQL sequences do not, hence the advisory lock."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(7226001)"))
