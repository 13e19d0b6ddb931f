"""Monthly statements: opening balance, totals per ledger kind, closing balance, in UTC months.

Every amount is a sum of ledger entries by their time (`created_at`), so opening + totals =
closing holds exactly, and one month's closing balance is the next month's opening balance.
A month's figures are one aggregate query over the account's (account_id, created_at) index.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.periods import next_reset, period_start
from alltoken.store.models import LedgerEntry

# Shown on every statement, even at zero; kinds added later appear when a month has them.
STATEMENT_KINDS = ("topup", "promo", "usage", "adjustment", "refund", "expiry")

_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
_ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Month:
    start: datetime     # first instant, UTC
    end: datetime       # first instant of the next month

    @classmethod
    def containing(cls, moment: datetime) -> "Month":
        return cls(period_start("monthly", moment), next_reset("monthly", moment))

    @classmethod
    def parse(cls, text: str, now: datetime) -> "Month":
        """'YYYY-MM', not after the month `now` is in; ValueError says what is wrong."""
        found = _MONTH.match(text)
        if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1:
            raise ValueError(f"a month is written YYYY-MM, e.g. 2026-05; got {text!r}")
        month = cls.containing(datetime(int(found.group(1)), int(found.group(2)), 1, tzinfo=UTC))
        if month.start > now:
            raise ValueError(f"{text} is in the future: statements exist up to the current month")
        return month

    @property
    def label(self) -> str:
        return f"{self.start.year:04d}-{self.start.month:02d}"


@dataclass(frozen=True, slots=True)
class KindTotal:
    units: int          # signed, as in the ledger
    entries: int


@dataclass(frozen=True, slots=True)
class Statement:
    account_id: str
    month: Month
    opening_units: int
    totals: dict[str, KindTotal]
    complete: bool      # the month is over: its figures will not change

    @property
    def closing_units(self) -> int:
        return self.opening_units + sum(total.units for total in self.totals.values())

    @property
    def requests(self) -> int:
        """Requests charged in the month: one `usage` entry each."""
        return self.totals["usage"].entries


async def monthly_statement(session: AsyncSession, account_id: str, month: Month, now: datetime) -> Statement:
    during = LedgerEntry.created_at >= month.start
    rows = await session.execute(
        select(LedgerEntry.kind,
               func.sum(case((during, 0), else_=LedgerEntry.amount_units)),
               func.sum(case((during, LedgerEntry.amount_units), else_=0)),
               func.sum(case((during, 1), else_=0)))
        .where(LedgerEntry.account_id == account_id, LedgerEntry.created_at < month.end)
        .group_by(LedgerEntry.kind))
    opening = 0
    totals = {kind: KindTotal(0, 0) for kind in STATEMENT_KINDS}
    for kind, before, within, entries in rows:
        opening += int(before)
        if int(entries) or kind in totals:
            totals[kind] = KindTotal(int(within), int(entries))
    return Statement(account_id, month, opening, totals, complete=month.end <= now)


async def months_with_activity(session: AsyncSession, account_id: str, now: datetime) -> list[Month]:
    """Months, newest first, in which the account has at least one ledger entry. One index probe
    per month since its first entry, so the cost does not grow with the number of entries."""
    first = (await session.execute(select(func.min(LedgerEntry.created_at))
                                   .where(LedgerEntry.account_id == account_id))).scalar_one()
    if first is None:
        return []
    found, month = [], Month.containing(now)
    while month.end > first:
        if (await session.execute(select(exists().where(
                LedgerEntry.account_id == account_id, LedgerEntry.created_at >= month.start,
                LedgerEntry.created_at < month.end)))).scalar_one():
            found.append(month)
        month = Month.containing(month.start - _ONE_MICROSECOND)
    return found
