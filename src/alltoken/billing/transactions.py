"""An account's ledger entries, newest first, a page at a time (keyset pagination).

Pages are ordered by (created_at, id) descending, which the (account_id, created_at, id) index
serves directly; the cursor is the position of the last entry returned, so each entry is returned
exactly once however deep the pages go, and entries added meanwhile never shift a page.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.store.keyset import KeysetPosition
from alltoken.store.models import LedgerEntry


class Position(KeysetPosition):
    """Where a page stopped: the (created_at, id) of its last ledger entry."""


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    kind: str | None = None
    since: datetime | None = None      # inclusive
    until: datetime | None = None      # exclusive


@dataclass(frozen=True, slots=True)
class Transaction:
    id: int
    kind: str
    amount_units: int
    note: str | None
    request_id: str | None
    expires_at: datetime | None
    actor: str | None
    created_at: datetime

    @property
    def position(self) -> Position:
        return Position(self.created_at, self.id)


async def transactions_page(session: AsyncSession, account_id: str, filters: TransactionFilter, limit: int,
                            after: Position | None = None) -> list[Transaction]:
    query = (select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.amount_units, LedgerEntry.note,
                    LedgerEntry.request_id, LedgerEntry.expires_at, LedgerEntry.actor, LedgerEntry.created_at)
             .where(LedgerEntry.account_id == account_id)
             .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()).limit(limit))
    if filters.kind is not None:
        query = query.where(LedgerEntry.kind == filters.kind)
    if filters.since is not None:
        query = query.where(LedgerEntry.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(LedgerEntry.created_at < filters.until)
    if after is not None:  # the first condition alone bounds the index range; the second breaks ties
        query = query.where(LedgerEntry.created_at <= after.created_at,
                            or_(LedgerEntry.created_at < after.created_at,
                                and_(LedgerEntry.created_at == after.created_at, LedgerEntry.id < after.id)))
    return [Transaction(*row) for row in await session.execute(query)]
