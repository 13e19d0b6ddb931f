"""Stripe webhook events: each applied exactly once, in one transaction with its effect.

The event id goes into `stripe_events` first, in the transaction that applies it: a redelivered event
finds its id there and changes nothing. Different events about one payment (Checkout completion,
async success, PaymentIntent success) meet in `outcomes`, which credits a payment once, so the order
they arrive in does not change the result.
"""

from collections.abc import Awaitable, Callable

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.ids import utcnow
from alltoken.payments import outcomes
from alltoken.store.models import Payment, StripeEvent


async def _session_completed(session: AsyncSession, payment: Payment, checkout: dict) -> None:
    if checkout.get("payment_status") == "paid":
        await outcomes.succeed(session, payment, checkout.get("payment_intent"))
    else:
        outcomes.mark_processing(payment, checkout.get("payment_intent"))


async def _async_payment_succeeded(session: AsyncSession, payment: Payment, checkout: dict) -> None:
    await outcomes.succeed(session, payment, checkout.get("payment_intent"))


async def _async_payment_failed(session: AsyncSession, payment: Payment, checkout: dict) -> None:
    outcomes.record_intent(payment, checkout.get("payment_intent"))
    await outcomes.fail(session, payment, "the bank did not complete the payment")


async def _session_expired(session: AsyncSession, payment: Payment, checkout: dict) -> None:
    outcomes.mark_expired(payment)


async def _dispute_created(session: AsyncSession, payment: Payment, dispute: dict) -> None:
    await outcomes.dispute(session, payment, dispute["id"], int(dispute.get("amount") or 0))


async def _dispute_closed(session: AsyncSession, payment: Payment, dispute: dict) -> None:
    await outcomes.dispute_closed(session, payment, dispute["id"], str(dispute.get("status")),
                                  int(dispute.get("amount") or 0))


Handler = Callable[[AsyncSession, Payment, dict], Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _session_completed,
    "checkout.session.async_payment_succeeded": _async_payment_succeeded,
    "checkout.session.async_payment_failed": _async_payment_failed,
    "checkout.session.expired": _session_expired,
    "payment_intent.succeeded": outcomes.apply_intent,
    "payment_intent.payment_failed": outcomes.apply_intent,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}


async def apply_event(session: AsyncSession, event: dict, payment_id: str) -> str | None:
    """Apply a verified event to our payment `payment_id` inside `session`'s transaction. Returns the
    account it touched, or None when the event was applied before (or the payment is not ours)."""
    if not await _first_delivery(session, event):
        return None
    payment = await outcomes.locked_payment(session, payment_id)
    if payment is None:
        return None
    await HANDLERS[event["type"]](session, payment, event["data"]["object"])
    return payment.account_id


async def _first_delivery(session: AsyncSession, event: dict) -> bool:
    """Record the event id; False if it was recorded already. The first write of the transaction, so on
    SQLite it takes the write lock, and on PostgreSQL a concurrent delivery waits for this one."""
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted = await session.execute(
        dialect_insert(StripeEvent).values(id=event["id"], type=event["type"], received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"]).returning(StripeEvent.id))
    return inserted.first() is not None
