"""Low-balance alert settings and their state, in the `balance_alerts` table.

An alert is *triggered* when the balance falls below the account's threshold and *re-armed* when
it is back at or above it; one email goes out per trigger. Every state change is a conditional
UPDATE that re-checks the balance in the database, so several processes on one database agree
on each transition and exactly one of them gets to send each email.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts.service import get_account, normalized_email
from alltoken.ids import utcnow
from alltoken.money import usd_to_units
from alltoken.store.dml import changed_rows
from alltoken.store.models import Account, BalanceAlert, LedgerEntry
from alltoken.store.upsert import insert_ignoring_duplicates


@dataclass(frozen=True, slots=True)
class Watched:
    account_id: str
    threshold_units: int
    triggered: bool


@dataclass(frozen=True, slots=True)
class DueEmail:
    account_id: str
    threshold_units: int
    recipient: str


async def get_alert(session: AsyncSession, account_id: str) -> BalanceAlert | None:
    return await session.get(BalanceAlert, account_id)


def parse_threshold(usd: str) -> int:
    units = usd_to_units(usd)
    if units < 0:
        raise ValueError("a low-balance threshold must be 0 or more USD")
    return units


async def set_alert(session: AsyncSession, account_id: str, threshold_units: int | None,
                    email: str | None) -> BalanceAlert | None:
    """Set (or, with no threshold, remove) the account's alert; `email` None means the account's
    own. A change re-arms it, so the new setting is judged afresh on the next check."""
    await get_account(session, account_id)
    if threshold_units is None:
        await session.execute(delete(BalanceAlert).where(BalanceAlert.account_id == account_id))
        return None
    values = {"threshold_units": threshold_units, "email": normalized_email(email) if email else None,
              "triggered_at": None, "notified_at": None, "sending_until": None, "updated_at": utcnow()}
    await insert_ignoring_duplicates(session, BalanceAlert.__table__, [{"account_id": account_id, **values}],
                                     unique="account_id")
    await session.execute(update(BalanceAlert).where(BalanceAlert.account_id == account_id).values(**values))
    return await session.get(BalanceAlert, account_id, populate_existing=True)


async def watched(session: AsyncSession) -> list[Watched]:
    rows = await session.execute(select(BalanceAlert.account_id, BalanceAlert.threshold_units,
                                        BalanceAlert.triggered_at.is_not(None)))
    return [Watched(account_id, threshold, bool(triggered)) for account_id, threshold, triggered in rows]


def _ledger_balance(account_id: str):
    return (select(func.coalesce(func.sum(LedgerEntry.amount_units), 0))
            .where(LedgerEntry.account_id == account_id).scalar_subquery())


async def trigger(session: AsyncSession, account_id: str, now: datetime) -> bool:
    """Record that the balance fell below the threshold; False if it is not below, or already was."""
    changed = await changed_rows(
        session, update(BalanceAlert)
        .where(BalanceAlert.account_id == account_id, BalanceAlert.triggered_at.is_(None),
               _ledger_balance(account_id) < BalanceAlert.threshold_units)
        .values(triggered_at=now, notified_at=None, sending_until=None))
    return changed == 1


async def rearm(session: AsyncSession, account_id: str) -> bool:
    """The balance is back at or above the threshold: the next fall sends a new email."""
    changed = await changed_rows(
        session, update(BalanceAlert)
        .where(BalanceAlert.account_id == account_id, BalanceAlert.triggered_at.is_not(None),
               _ledger_balance(account_id) >= BalanceAlert.threshold_units)
        .values(triggered_at=None, notified_at=None, sending_until=None))
    return changed == 1


async def due_emails(session: AsyncSession, now: datetime) -> list[DueEmail]:
    """Triggered alerts whose email has not gone out and that no process is sending."""
    rows = await session.execute(
        select(BalanceAlert.account_id, BalanceAlert.threshold_units,
               func.coalesce(BalanceAlert.email, Account.email))
        .join(Account, Account.id == BalanceAlert.account_id)
        .where(BalanceAlert.triggered_at.is_not(None), BalanceAlert.notified_at.is_(None),
               (BalanceAlert.sending_until.is_(None)) | (BalanceAlert.sending_until < now)))
    return [DueEmail(*row) for row in rows]


async def claim_email(session: AsyncSession, account_id: str, now: datetime, lease: timedelta) -> bool:
    """Take the right to send this alert's email for `lease`; exactly one process wins it."""
    changed = await changed_rows(
        session, update(BalanceAlert)
        .where(BalanceAlert.account_id == account_id, BalanceAlert.triggered_at.is_not(None),
               BalanceAlert.notified_at.is_(None),
               (BalanceAlert.sending_until.is_(None)) | (BalanceAlert.sending_until < now))
        .values(sending_until=now + lease))
    return changed == 1


async def email_sent(session: AsyncSession, account_id: str, now: datetime) -> None:
    await session.execute(update(BalanceAlert).where(BalanceAlert.account_id == account_id,
                                                     BalanceAlert.triggered_at.is_not(None))
                          .values(notified_at=now, sending_until=None))


async def email_failed(session: AsyncSession, account_id: str) -> None:
    """Give the claim back, so the next check (in any process) tries again."""
    await session.execute(update(BalanceAlert).where(BalanceAlert.account_id == account_id)
                          .values(sending_until=None))
