"""What a payment's outcome does to its account, each exactly once whatever the order events arrive in.

Call inside a transaction that holds the payment row (`locked_payment`) and the ledger write lock. The
credit is a `topup` ledger entry keyed `stripe:<PaymentIntent id>`, written only while the payment has
none, so a checkout completion, an async success and a PaymentIntent success for one payment credit it
once. A success always wins over a failure (money arrived); a failure after a success changes nothing.
"""

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.billing.ledger import serialize_ledger_writes
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_str
from alltoken.payments.amounts import cents_to_usd_str
from alltoken.payments.holds import PAYMENT_DISPUTED, PAYMENT_FAILED, lift_hold_if_restored, set_hold
from alltoken.store.models import Account, BillingProfile, LedgerEntry, Payment


async def locked_payment(session: AsyncSession, payment_id: str) -> Payment | None:
    """The payment, locked until the transaction ends (PostgreSQL; SQLite has one writer at a time),
    and the ledger write lock, taken here first so every payment transaction locks in the same order."""
    payment = (await session.execute(select(Payment).where(Payment.id == payment_id).with_for_update())).scalar()
    if payment is not None:
        await serialize_ledger_writes(session)
    return payment


def record_intent(payment: Payment, intent_id: str | None) -> None:
    if intent_id and payment.stripe_payment_intent_id is None:
        payment.stripe_payment_intent_id = intent_id


async def succeed(session: AsyncSession, payment: Payment, intent_id: str | None) -> bool:
    """Credit the payment once; a hold the credit restores is lifted. False if it was credited before."""
    record_intent(payment, intent_id)
    if payment.ledger_entry_id is not None or payment.stripe_payment_intent_id is None:
        return False
    now = utcnow()
    entry = LedgerEntry(account_id=payment.account_id, kind="topup", amount_units=payment.credit_units,
                        request_id=f"stripe:{payment.stripe_payment_intent_id}", actor="stripe", created_at=now,
                        note=f"card payment {payment.id}: {cents_to_usd_str(payment.total_cents)} "
                             f"{payment.currency.upper()} charged, tax included")
    session.add(entry)
    await session.flush()
    payment.ledger_entry_id, payment.status, payment.paid_at = entry.id, "succeeded", now
    payment.receipt_number = f"R-{entry.id:08d}"
    if payment.kind == "auto":
        await _release_claim(session, payment.account_id)
    if not payment.disputed_units:   # the credit of a disputed payment restores nothing
        await lift_hold_if_restored(session, payment.account_id)
    return True


async def fail(session: AsyncSession, payment: Payment, message: str) -> bool:
    """The payment will not be paid: record why and hold the account. False if it had succeeded or failed."""
    if payment.status in ("succeeded", "failed"):
        return False
    payment.status, payment.failure_message = "failed", message
    what = "the automatic top-up" if payment.kind == "auto" else "the top-up payment"
    if payment.kind == "auto":  # a declined card is not charged again until the user turns auto top-up back on
        await _release_claim(session, payment.account_id)
        await _switch_off_auto_topup(session, payment.account_id, f"{what} {payment.id} failed: {message}")
    await set_hold(session, payment.account_id, PAYMENT_FAILED,
                   f"{what} of {cents_to_usd_str(payment.total_cents)} USD (payment {payment.id}, "
                   f"{payment.created_at:%Y-%m-%d}) failed: {message}")
    return True


def note_declined_attempt(payment: Payment, message: str) -> None:
    """A Checkout attempt was declined; the customer is still on the page and may pay another way."""
    if payment.status != "succeeded":
        payment.failure_message = message


def mark_processing(payment: Payment, intent_id: str | None) -> None:
    """Checkout completed with a payment method that settles later (bank debit): wait for its outcome."""
    record_intent(payment, intent_id)
    if payment.status == "open":
        payment.status = "processing"


def mark_expired(payment: Payment) -> None:
    if payment.status == "open":
        payment.status = "expired"


async def dispute(session: AsyncSession, payment: Payment, dispute_id: str, disputed_cents: int) -> bool:
    """Take back the disputed share of the payment's credit (once per dispute) and hold the account.
    Nothing if the dispute was already taken back, or already closed in the account's favour."""
    request_id = _taken(dispute_id)
    if await _ledger_entry(session, request_id) or await _ledger_entry(session, _won(dispute_id)):
        return False
    units = payment.credit_units * min(max(disputed_cents, 0), payment.total_cents) // payment.total_cents
    session.add(LedgerEntry(account_id=payment.account_id, kind="adjustment", amount_units=-units,
                            request_id=request_id, actor="stripe", created_at=utcnow(),
                            note=f"dispute {dispute_id} of card payment {payment.id}"))
    payment.disputed_units += units
    await _switch_off_auto_topup(session, payment.account_id, f"the card payment {payment.id} was disputed")
    await set_hold(session, payment.account_id, PAYMENT_DISPUTED,
                   f"the card payment {payment.id} of {cents_to_usd_str(payment.total_cents)} USD was disputed, "
                   f"so its {units_to_usd_str(units)} USD of credit was taken back")
    return True


async def dispute_closed(session: AsyncSession, payment: Payment, dispute_id: str, status: str,
                         disputed_cents: int) -> bool:
    """A dispute's end. Won (or an inquiry closed without a chargeback): the credit taken back returns,
    and a dispute hold is lifted once the balance is 0 or more. Lost: the credit stays taken back (taken
    now if the dispute's opening never arrived). Once per dispute, whatever order its events come in."""
    if status == "lost":
        return await dispute(session, payment, dispute_id, disputed_cents)
    if status not in ("won", "warning_closed") or await _ledger_entry(session, _won(dispute_id)):
        return False
    taken = await _ledger_entry(session, _taken(dispute_id))
    units = -taken.amount_units if taken is not None else 0    # none taken: a mark, so a late opening takes none
    session.add(LedgerEntry(account_id=payment.account_id, kind="adjustment", amount_units=units,
                            request_id=_won(dispute_id), actor="stripe", created_at=utcnow(),
                            note=f"dispute {dispute_id} of card payment {payment.id} closed in the account's favour"))
    payment.disputed_units -= units
    await session.flush()
    account = await session.get_one(Account, payment.account_id)
    if account.billing_hold == PAYMENT_DISPUTED and not payment.disputed_units:
        await lift_hold_if_restored(session, payment.account_id)
    return True


def _taken(dispute_id: str) -> str:
    """The request id of the ledger entry that took a dispute's credit back."""
    return f"stripe:dispute:{dispute_id}"


def _won(dispute_id: str) -> str:
    """The request id of the entry that gave it back (or marked the dispute won before it opened)."""
    return f"stripe:dispute-won:{dispute_id}"


async def _ledger_entry(session: AsyncSession, request_id: str) -> LedgerEntry | None:
    return (await session.execute(select(LedgerEntry).where(LedgerEntry.request_id == request_id))).scalar()


async def save_card(session: AsyncSession, payment: Payment, intent: dict) -> None:
    """A Checkout payment saved its card for off-session use: auto top-up charges that card from now on."""
    card, customer = intent.get("payment_method"), intent.get("customer")
    if payment.kind == "checkout" and intent.get("setup_future_usage") == "off_session" \
            and isinstance(card, str) and isinstance(customer, str):
        await _update_profile(session, payment.account_id, payment_method_id=card, stripe_customer_id=customer)


async def _release_claim(session: AsyncSession, account_id: str) -> None:
    """The auto top-up in flight is over: the next dip below the threshold may start another."""
    await _update_profile(session, account_id, auto_topup_pending=False)


async def _switch_off_auto_topup(session: AsyncSession, account_id: str, because: str) -> None:
    await _update_profile(session, account_id, auto_topup_enabled=False, auto_topup_failure=because)


async def _update_profile(session: AsyncSession, account_id: str, **values) -> None:
    await session.execute(update(BillingProfile).where(BillingProfile.account_id == account_id)
                          .values(**values, updated_at=utcnow()))


_NOT_PAID = ("requires_payment_method", "requires_action", "canceled")


async def apply_intent(session: AsyncSession, payment: Payment, intent: dict) -> None:
    """A PaymentIntent as Stripe reported it: an event's object, or the answer to our own charge."""
    record_intent(payment, intent.get("id"))
    status = intent.get("status")
    if status == "succeeded":
        await save_card(session, payment, intent)
        await succeed(session, payment, intent.get("id"))
    elif status in _NOT_PAID:
        message = (intent.get("last_payment_error") or {}).get("message") or f"the payment is {status}"
        if payment.kind == "auto":  # nobody is there to try another card
            await fail(session, payment, message)
        else:
            note_declined_attempt(payment, message)
