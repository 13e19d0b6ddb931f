"""Top-up building blocks: amounts and tax in integers, the stripe settings, and the database side of
exactly-once (raced webhook deliveries, raced auto top-up claims) on SQLite and PostgreSQL."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from alltoken.accounts.cache import AccountRecord
from alltoken.accounts.service import create_account
from alltoken.billing.ledger import balance_units, grant
from alltoken.config import ConfigError, load_settings
from alltoken.errors import PermissionDenied
from alltoken.http.auth import check_account
from alltoken.ids import utcnow
from alltoken.payments import auto_topup, outcomes
from alltoken.payments.amounts import AmountError, check_topup, parse_cents, quote
from alltoken.payments.webhooks import apply_event
from alltoken.store.db import session_factory
from alltoken.store.models import Account, BillingProfile, LedgerEntry, Payment, StripeEvent

UNITS = 10**12


@pytest.mark.parametrize("credit_cents, basis_points, tax_cents", [
    (2000, 825, 165), (1234, 825, 102), (1000, 825, 83), (100, 50, 1), (99, 50, 0), (500, 0, 0), (1, 5000, 1)])
def test_tax_is_the_rate_on_the_credit_rounded_half_up_to_the_cent(credit_cents, basis_points, tax_cents):
    q = quote(credit_cents, basis_points)
    assert (q.tax_cents, q.total_cents, q.credit_units) == (tax_cents, credit_cents + tax_cents,
                                                            credit_cents * UNITS // 100)


def test_amounts_are_whole_cents_from_strings_or_integers():
    assert parse_cents("20") == parse_cents(20) == 2000 and parse_cents("12.50") == 1250
    for bad in ("12.345", 12.5, "abc", "NaN"):
        with pytest.raises(AmountError):
            parse_cents(bad)
    with pytest.raises(AmountError, match="smallest top-up is 5.000000 USD"):
        check_topup(quote(499, 0), minimum_cents=500)
    with pytest.raises(AmountError, match="tax included"):
        check_topup(quote(99_999_999, 825), minimum_cents=500)


def write(tmp_path, text):
    path = tmp_path / "alltoken.yaml"
    path.write_text(text)
    return str(path)


def test_stripe_settings(tmp_path):
    assert not load_settings(write(tmp_path, "{}"), env={}).stripe.enabled
    path = write(tmp_path, "stripe:\n  tax_percent: 8.25\n  minimum_usd: '10'\n  success_url: https://a/ok\n"
                           "  cancel_url: https://a/no\n  api_base: http://127.0.0.1:9/\n")
    settings = load_settings(path, env={"ALLTOKEN_STRIPE_SECRET_KEY": "sk_test_1",
                                        "ALLTOKEN_STRIPE_WEBHOOK_SECRET": "whsec_1"}).stripe
    assert (settings.secret_key, settings.webhook_secret, settings.tax_basis_points, settings.minimum_cents,
            settings.api_base, settings.currency) == ("sk_test_1", "whsec_1", 825, 1000, "http://127.0.0.1:9", "usd")
    with pytest.raises(ConfigError, match="also need webhook_secret"):
        load_settings(path, env={"ALLTOKEN_STRIPE_SECRET_KEY": "sk_test_1"})
    for section, message in [("{tax_percent: '8.125'}", "at most 2 decimals"), ("{minimum_usd: '0.10'}", "0.50"),
                             ("{currency: eur}", "charged in usd"), ("{fee: 1}", "expected a mapping"),
                             ("{auto_topup_interval_seconds: 0}", "more than 0")]:
        with pytest.raises(ConfigError, match=message):
            load_settings(write(tmp_path, f"stripe: {section}\n"), env={})


def test_an_admins_suspension_wins_over_a_billing_hold():
    held = AccountRecord(id="a", status="active", status_reason=None, billing_hold="a payment failed")
    with pytest.raises(PermissionDenied) as refused:
        check_account(held)
    assert refused.value.code == "billing_suspended"
    check_account(held, allow_billing_hold=True)
    with pytest.raises(PermissionDenied) as refused:
        check_account(AccountRecord(id="a", status="suspended", status_reason="abuse", billing_hold="x"),
                       allow_billing_hold=True)
    assert refused.value.code == "account_suspended"


# --- the database side, on SQLite and PostgreSQL ---

async def new_payment(sessions, usd_before="1", kind="checkout") -> Payment:
    async with sessions.begin() as session:
        account = await create_account(session, f"payer-{utcnow().timestamp()}@example.com")
        await session.flush()
        await grant(session, account.id, usd_before)
        q = quote(1000, 825)
        payment = Payment(id=f"pay_{account.id[-8:]}", account_id=account.id, kind=kind, status="open",
                          credit_units=q.credit_units, tax_cents=q.tax_cents, total_cents=q.total_cents,
                          currency="usd", disputed_units=0, created_at=utcnow())
        session.add(payment)
    return payment


def paid_events(payment: Payment, intent_id: str) -> list[dict]:
    metadata = {"alltoken_payment_id": payment.id}
    session = {"id": "cs_1", "object": "checkout.session", "payment_status": "paid", "payment_intent": intent_id,
               "metadata": metadata}
    intent = {"id": intent_id, "object": "payment_intent", "status": "succeeded", "metadata": metadata}
    return [{"id": f"evt_{n}_{intent_id}", "type": kind, "data": {"object": obj}} for n, (kind, obj) in enumerate([
        ("checkout.session.completed", session), ("checkout.session.async_payment_succeeded", session),
        ("payment_intent.succeeded", intent)])]


async def apply(sessions, evt: dict, payment_id: str) -> str | None:
    async with sessions.begin() as session:
        return await apply_event(session, evt, payment_id)


async def test_raced_deliveries_of_one_event_and_of_its_siblings_credit_once(engine):
    sessions = session_factory(engine)
    payment = await new_payment(sessions)
    events = paid_events(payment, "pi_raced")
    deliveries = [events[0]] * 8 + events[1:] * 4        # one event redelivered, and the others about it
    applied = await asyncio.gather(*(apply(sessions, evt, payment.id) for evt in deliveries))
    assert applied.count(payment.account_id) == 3          # each distinct event applied once, the rest skipped
    async with sessions() as session:
        topups = (await session.execute(select(LedgerEntry.amount_units, LedgerEntry.request_id).where(
            LedgerEntry.account_id == payment.account_id, LedgerEntry.kind == "topup",
            LedgerEntry.request_id.is_not(None)))).all()
        assert topups == [(10 * UNITS, "stripe:pi_raced")]
        assert await balance_units(session, payment.account_id) == 11 * UNITS
        assert (await session.execute(select(func.count()).select_from(StripeEvent))).scalar() >= 3
        stored = await session.get(Payment, payment.id)
        assert stored.status == "succeeded" and stored.receipt_number == f"R-{stored.ledger_entry_id:08d}"


async def test_a_failure_after_the_credit_changes_nothing_and_a_dispute_holds(engine):
    sessions = session_factory(engine)
    payment = await new_payment(sessions)
    await apply(sessions, paid_events(payment, "pi_x")[2], payment.id)
    declined = {"id": "pi_x", "status": "requires_payment_method", "metadata": {},
                "last_payment_error": {"message": "Your card was declined."}}
    async with sessions.begin() as session:
        locked = await outcomes.locked_payment(session, payment.id)
        assert not await outcomes.fail(session, locked, "late")
        await outcomes.apply_intent(session, locked, declined)
    dispute = {"id": "evt_dp", "type": "charge.dispute.created",
               "data": {"object": {"id": "dp_1", "amount": 1083, "payment_intent": "pi_x"}}}
    assert await apply(sessions, dispute, payment.id) == payment.account_id
    async with sessions() as session:
        account = await session.get(Account, payment.account_id)
        assert account.billing_hold == "payment_disputed" and "disputed" in account.billing_hold_reason
        assert await balance_units(session, payment.account_id) == 1 * UNITS
        assert (await session.get(Payment, payment.id)).status == "succeeded"


async def test_racing_auto_top_up_claims_charge_one_dip_once(engine):
    sessions = session_factory(engine)
    payment = await new_payment(sessions, usd_before="1")
    account_id = payment.account_id
    async with sessions.begin() as session:
        profile = await auto_topup.ensure_profile(session, account_id)
        profile.stripe_customer_id, profile.payment_method_id = "cus_1", "pm_1"
        await auto_topup.write_config(session, account_id, True, 5 * UNITS, 20 * UNITS)
    async with sessions() as session:
        assert await auto_topup.due_accounts(session) == [account_id]
    claims = await asyncio.gather(*(auto_topup.claim(sessions, account_id, 825, "usd") for _ in range(10)))
    (claim,) = [c for c in claims if c is not None]
    assert (claim.payment.total_cents, claim.customer_id, claim.payment_method_id) == (2165, "cus_1", "pm_1")
    async with sessions() as session:
        assert await auto_topup.due_accounts(session) == []        # in flight
        # a claim Stripe never answered (a timeout, a crash) is charged again once it is old enough
        assert await auto_topup.stalled_claims(session, utcnow() - timedelta(minutes=2)) == []
        (stalled,) = await auto_topup.stalled_claims(session, utcnow() + timedelta(seconds=1))
        assert (stalled.payment.id, stalled.payment_method_id) == (claim.payment.id, "pm_1")
    async with sessions.begin() as session:   # Stripe says it succeeded: credited, claim released
        await outcomes.apply_intent(session, await outcomes.locked_payment(session, claim.payment.id),
                                    {"id": "pi_auto", "status": "succeeded", "metadata": {}})
    assert await auto_topup.claim(sessions, account_id, 825, "usd") is None    # 21 USD now: no dip
    async with sessions() as session:
        assert (await session.get(BillingProfile, account_id)).auto_topup_pending is False
        assert await balance_units(session, account_id) == 21 * UNITS
        assert await auto_topup.due_accounts(session) == []
