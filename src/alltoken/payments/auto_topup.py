"""Auto top-up: when an account's balance falls below its threshold, charge its saved card, once per dip.

Every server process looks every `auto_topup_interval_seconds`. However many see the same dip, one
charges it: the charge is claimed with a conditional UPDATE (auto_topup_pending false -> true) in the
transaction that inserts its payment, and the balance is read again after the claim, so a process that
claims just after another one's top-up landed sees the new balance and backs off. The claim is released
in the transaction that credits or fails the payment (payments/outcomes.py). The Stripe idempotency key
is the payment id, so a charge retried after a timeout or a crash is the same charge.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alltoken.billing.ledger import balance_units
from alltoken.ids import new_id, utcnow
from alltoken.payments.amounts import UNITS_PER_CENT, quote
from alltoken.store.models import Account, BillingProfile, LedgerEntry, Payment
from alltoken.store.upsert import insert_ignoring_duplicates


class AutoTopUpRefused(ValueError):
    """Settings that cannot be used; the message says why."""


@dataclass(frozen=True)
class AutoTopUpConfig:
    enabled: bool
    threshold_units: int
    amount_units: int
    card_saved: bool
    switched_off_because: str | None


@dataclass(frozen=True)
class Claim:
    payment: Payment
    customer_id: str
    payment_method_id: str


async def ensure_profile(session: AsyncSession, account_id: str) -> BillingProfile:
    await insert_ignoring_duplicates(session, BillingProfile.__table__, [{
        "account_id": account_id, "auto_topup_enabled": False, "auto_topup_threshold_units": 0,
        "auto_topup_amount_units": 0, "auto_topup_pending": False, "updated_at": utcnow()}], unique="account_id")
    return await session.get_one(BillingProfile, account_id, populate_existing=True)


async def read_config(session: AsyncSession, account_id: str) -> AutoTopUpConfig:
    profile = await session.get(BillingProfile, account_id)
    if profile is None:
        return AutoTopUpConfig(False, 0, 0, False, None)
    return AutoTopUpConfig(profile.auto_topup_enabled, profile.auto_topup_threshold_units,
                           profile.auto_topup_amount_units, profile.payment_method_id is not None,
                           profile.auto_topup_failure)


async def write_config(session: AsyncSession, account_id: str, enabled: bool, threshold_units: int,
                       amount_units: int) -> AutoTopUpConfig:
    profile = await ensure_profile(session, account_id)
    if enabled and profile.payment_method_id is None:
        raise AutoTopUpRefused("no card is saved for this account yet: pay one top-up through "
                               "POST /api/billing/checkout first; its card is kept for auto top-up")
    profile.auto_topup_enabled, profile.updated_at = enabled, utcnow()
    profile.auto_topup_threshold_units, profile.auto_topup_amount_units = threshold_units, amount_units
    if enabled:
        profile.auto_topup_failure = None
    return await read_config(session, account_id)


async def due_accounts(session: AsyncSession) -> list[str]:
    """Accounts with auto top-up on, a saved card, nothing in flight, no hold, and a balance below the
    threshold (from the ledger: charges of the last flush interval are not in it yet)."""
    balance = (select(func.coalesce(func.sum(LedgerEntry.amount_units), 0))
               .where(LedgerEntry.account_id == BillingProfile.account_id).scalar_subquery())
    rows = await session.execute(
        select(BillingProfile.account_id).join(Account, Account.id == BillingProfile.account_id)
        .where(BillingProfile.auto_topup_enabled.is_(True), BillingProfile.auto_topup_pending.is_(False),
               BillingProfile.payment_method_id.is_not(None), Account.billing_hold.is_(None),
               Account.status.not_in(("suspended", "terminated")), balance < BillingProfile.auto_topup_threshold_units))
    return list(rows.scalars())


async def claim(sessions: async_sessionmaker, account_id: str, tax_basis_points: int,
                currency: str) -> Claim | None:
    """Claim this account's dip and write its payment, or None if another process has it or it is over."""
    async with sessions() as session:
        claimed = await session.execute(
            update(BillingProfile).where(BillingProfile.account_id == account_id,
                                         BillingProfile.auto_topup_enabled.is_(True),
                                         BillingProfile.auto_topup_pending.is_(False),
                                         BillingProfile.payment_method_id.is_not(None))
            .values(auto_topup_pending=True, updated_at=utcnow()))
        profile = await session.get(BillingProfile, account_id) if claimed.rowcount == 1 else None
        if profile is None or await balance_units(session, account_id) >= profile.auto_topup_threshold_units:
            await session.rollback()
            return None
        q = quote(profile.auto_topup_amount_units // UNITS_PER_CENT, tax_basis_points)
        payment = Payment(id=new_id("pay_", 8), account_id=account_id, kind="auto", status="processing",
                          credit_units=q.credit_units, tax_cents=q.tax_cents, total_cents=q.total_cents,
                          currency=currency, disputed_units=0, created_at=utcnow())
        session.add(payment)
        await session.commit()
        return Claim(payment, profile.stripe_customer_id, profile.payment_method_id)


async def stalled_claims(session: AsyncSession, started_before: datetime) -> list[Claim]:
    """Auto top-ups claimed but never answered by Stripe (a timeout, a crash): charge them again, under
    the same idempotency key."""
    rows = await session.execute(
        select(Payment, BillingProfile.stripe_customer_id, BillingProfile.payment_method_id)
        .join(BillingProfile, BillingProfile.account_id == Payment.account_id)
        .where(Payment.kind == "auto", Payment.status == "processing", Payment.stripe_payment_intent_id.is_(None),
               Payment.created_at < started_before))
    # A claim is made only for a profile with a saved card, so both ids are there.
    return [Claim(payment, customer_id, method_id) for payment, customer_id, method_id in rows
            if customer_id is not None and method_id is not None]
