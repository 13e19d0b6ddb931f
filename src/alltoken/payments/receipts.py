"""An account's payments as the management API shows them: its receipts, and its billing hold."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.money import units_to_usd_str
from alltoken.payments.amounts import cents_to_usd_str
from alltoken.store.models import Account, Payment


async def account_payments(session: AsyncSession, account_id: str, limit: int) -> list[dict]:
    rows = await session.execute(select(Payment).where(Payment.account_id == account_id)
                                 .order_by(Payment.created_at.desc(), Payment.id).limit(limit))
    return [_receipt(payment) for payment in rows.scalars()]


async def billing_hold(session: AsyncSession, account_id: str) -> dict | None:
    account = await session.get(Account, account_id)
    if account is None or account.billing_hold is None:
        return None
    return {"code": account.billing_hold, "reason": account.billing_hold_reason,
            "since": account.billing_hold_since.isoformat() if account.billing_hold_since else None}


def _receipt(payment: Payment) -> dict:
    return {
        "id": payment.id, "kind": payment.kind, "status": payment.status,
        "receipt_number": payment.receipt_number,
        "amount_usd": units_to_usd_str(payment.credit_units), "tax_usd": cents_to_usd_str(payment.tax_cents),
        "total_usd": cents_to_usd_str(payment.total_cents), "currency": payment.currency,
        "disputed_usd": units_to_usd_str(payment.disputed_units),
        "ledger_entry_id": payment.ledger_entry_id, "failure_message": payment.failure_message,
        "stripe_checkout_session_id": payment.stripe_checkout_session_id,
        "stripe_payment_intent_id": payment.stripe_payment_intent_id,
        "created_at": payment.created_at.isoformat(),
        "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
    }
