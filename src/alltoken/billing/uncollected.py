"""Cost a settlement could not collect (billing/reservations.py caps every charge at what the balance,
down to the credit line, and the key's and member's limits could still take): which accounts have
some, for the operator. Read from the ledger's usage entries, through a partial index on
uncollected_units > 0, so the cost of the list grows with the entries that have some, not the ledger."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.store.models import Account, LedgerEntry

_UNCOLLECTED = LedgerEntry.uncollected_units > 0


@dataclass(frozen=True, slots=True)
class Uncollected:
    account_id: str
    email: str
    name: str | None
    units: int              # total cost not collected
    requests: int           # how many requests had some
    last_at: datetime       # the latest of them


async def accounts_with_uncollected(session: AsyncSession, limit: int) -> list[Uncollected]:
    """Accounts with uncollected cost, the most recent first."""
    totals = (select(LedgerEntry.account_id, func.sum(LedgerEntry.uncollected_units).label("units"),
                     func.count().label("requests"), func.max(LedgerEntry.created_at).label("last_at"))
              .where(_UNCOLLECTED).group_by(LedgerEntry.account_id).subquery())
    rows = await session.execute(
        select(totals.c.account_id, Account.email, Account.name, totals.c.units, totals.c.requests, totals.c.last_at)
        .join(Account, Account.id == totals.c.account_id).order_by(totals.c.last_at.desc()).limit(limit))
    return [Uncollected(account, email, name, int(units), int(requests), last_at)
            for account, email, name, units, requests, last_at in rows]


async def account_uncollected(session: AsyncSession, account_id: str) -> int:
    total = await session.scalar(select(func.coalesce(func.sum(LedgerEntry.uncollected_units), 0))
                                 .where(LedgerEntry.account_id == account_id, _UNCOLLECTED))
    return int(total or 0)

