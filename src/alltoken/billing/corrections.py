"""Corrections an administrator makes to an account's ledger: adjustments and refunds.

An adjustment corrects a billing error either way (terms §6: at our sole discretion). A refund
records paid credit that is being paid back to the customer outside AllToken; it can only take
unspent paid credit (promotional credit is never refundable, consumed credit never is).
Both carry the reason, shown to the account, and the actor who made them.
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts.service import get_account
from alltoken.billing.buckets import Buckets
from alltoken.billing.expiry import account_buckets
from alltoken.billing.ledger import serialize_ledger_writes
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_str, usd_to_units
from alltoken.store.models import LedgerEntry


class RefundTooLarge(ValueError):
    def __init__(self, requested_units: int, refundable_units: int):
        super().__init__(
            f"a refund of {units_to_usd_str(requested_units)} USD is more than the account's unspent paid credit "
            f"({units_to_usd_str(refundable_units)} USD refundable); promotional and consumed credit are not "
            "refundable")
        self.refundable_units = refundable_units


@dataclass(frozen=True, slots=True)
class Corrected:
    entry: LedgerEntry
    after: Buckets              # the account's credit with the entry in

    @property
    def balance_units(self) -> int:
        return self.after.balance

    @property
    def refundable_units(self) -> int:
        return self.after.refundable


async def adjust(session: AsyncSession, account_id: str, usd: str, reason: str, actor: str) -> Corrected:
    """Add or take paid credit (a negative adjustment may take the balance below zero)."""
    units = usd_to_units(usd)
    if units == 0:
        raise ValueError("an adjustment must not be zero")
    return await _write(session, account_id, "adjustment", units, reason, actor)


async def refund(session: AsyncSession, account_id: str, usd: str, reason: str, actor: str) -> Corrected:
    """Debit unspent paid credit that is being paid back off-platform; RefundTooLarge if it is more.

    The entry is written first and checked after, under the ledger's write lock (SQLite's writer
    lock, PostgreSQL's ledger lock), so two refunds at once cannot both take the same credit. On a
    refusal the caller's transaction must roll back, which leaving the `begin()` block by the
    exception does."""
    units = usd_to_units(usd)
    if units <= 0:
        raise ValueError("a refund must be a positive amount")
    corrected = await _write(session, account_id, "refund", -units, reason, actor)
    if corrected.after.paid < 0:  # it took more than was refundable before it
        raise RefundTooLarge(units, max(corrected.after.paid + units, 0))
    return corrected


async def _write(session: AsyncSession, account_id: str, kind: str, units: int, reason: str,
                 actor: str) -> Corrected:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a reason is required: it is recorded with the entry and shown to the account")
    await get_account(session, account_id)
    await serialize_ledger_writes(session)
    entry = LedgerEntry(account_id=account_id, kind=kind, amount_units=units, note=reason, actor=actor,
                        created_at=utcnow())
    session.add(entry)
    await session.flush()
    return Corrected(entry, await account_buckets(session, account_id))
