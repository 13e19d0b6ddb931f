"""Top-ups as a running gateway offers them: Checkout, webhooks, the auto top-up loop.

After each change it drops the account from this process's auth cache and takes in new ledger rows at
once; other processes see the same through the change feed and the ledger poll (runtime/sync.py).
"""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from alltoken.accounts.cache import AuthCache
from alltoken.billing.reservations import CreditBook
from alltoken.config import StripeSettings
from alltoken.ids import new_id, utcnow
from alltoken.payments import auto_topup, outcomes
from alltoken.payments.amounts import check_topup, parse_cents, quote
from alltoken.payments.stripe_api import PAYMENT_ID, StripeApi, stripe_error
from alltoken.payments.webhooks import HANDLERS, apply_event
from alltoken.store.models import Account, Payment

log = logging.getLogger("alltoken.payments")

STALLED_AFTER = timedelta(minutes=2)   # longer than a Stripe call with its retries can take


class TopUpsNotConfigured(Exception):
    pass


class TopUps:
    def __init__(self, settings: StripeSettings, sessions: async_sessionmaker, auth: AuthCache, book: CreditBook):
        self.settings = settings
        self.sessions = sessions
        self._auth = auth
        self._book = book
        self._stripe = StripeApi(settings) if settings.enabled else None

    @property
    def enabled(self) -> bool:
        return self._stripe is not None

    def require_enabled(self) -> StripeApi:
        if self._stripe is None:
            raise TopUpsNotConfigured("top-ups are not configured on this server")
        return self._stripe

    async def close(self) -> None:
        if self._stripe is not None:
            await self._stripe.close()

    async def checkout(self, account_id: str, amount_usd: str | int) -> tuple[Payment, str, str]:
        """Open a Checkout Session for `amount_usd` of credit plus tax: (payment, session id, its URL)."""
        api = self.require_enabled()
        q = check_topup(quote(parse_cents(amount_usd), self.settings.tax_basis_points), self.settings.minimum_cents)
        customer_id = await self._customer(account_id)
        payment = Payment(id=new_id("pay_", 8), account_id=account_id, kind="checkout", status="open",
                          credit_units=q.credit_units, tax_cents=q.tax_cents, total_cents=q.total_cents,
                          currency=self.settings.currency, disputed_units=0, created_at=utcnow())
        async with self.sessions.begin() as session:
            session.add(payment)
        try:
            session_id, url = await api.create_checkout_session(payment, customer_id)
        except stripe_error():
            async with self.sessions.begin() as session:  # nobody saw it: no receipt for a page never shown
                await session.execute(delete(Payment).where(Payment.id == payment.id))
            raise
        async with self.sessions.begin() as session:
            await session.execute(update(Payment).where(Payment.id == payment.id)
                                  .values(stripe_checkout_session_id=session_id))
        return payment, session_id, url

    async def _customer(self, account_id: str) -> str:
        async with self.sessions.begin() as session:
            profile = await auto_topup.ensure_profile(session, account_id)
            email = (await session.get(Account, account_id)).email
        if profile.stripe_customer_id:
            return profile.stripe_customer_id
        customer_id = await self.require_enabled().create_customer(account_id, email)   # idempotent per account
        async with self.sessions.begin() as session:
            profile = await auto_topup.ensure_profile(session, account_id)
            profile.stripe_customer_id = profile.stripe_customer_id or customer_id
            return profile.stripe_customer_id

    async def handle_webhook(self, payload: bytes, signature: str | None) -> None:
        """Verify and apply one webhook delivery. Raises stripe.SignatureVerificationError or ValueError
        for a delivery that is not a genuine event; nothing is applied then."""
        event = self.require_enabled().verify_event(payload, signature)
        if not isinstance(event.get("id"), str) or not isinstance((event.get("data") or {}).get("object"), dict):
            raise ValueError("the body is not a Stripe event")
        if event.get("type") not in HANDLERS:
            return
        payment_id = await self._payment_of(event)
        if payment_id is None:
            log.info("stripe event %s (%s) is not about an AllToken payment; ignored", event["id"], event["type"])
            return
        async with self.sessions.begin() as session:
            account_id = await apply_event(session, event, payment_id)
        if account_id:
            await self._refresh(account_id)

    async def _payment_of(self, event: dict) -> str | None:
        """Our payment id: in the metadata of Checkout Sessions and PaymentIntents. A dispute names only
        its PaymentIntent, which an earlier event linked to the payment, or Stripe tells us about."""
        obj = event["data"]["object"]
        found = (obj.get("metadata") or {}).get(PAYMENT_ID)
        intent_id = obj.get("payment_intent")
        if found or not event["type"].startswith("charge.dispute.") or not isinstance(intent_id, str):
            return found
        async with self.sessions() as session:
            found = (await session.execute(select(Payment.id).where(Payment.stripe_payment_intent_id == intent_id)
                                           )).scalar()
        if found is None:
            intent = await self.require_enabled().retrieve_payment_intent(intent_id)
            found = (intent.get("metadata") or {}).get(PAYMENT_ID)
        return found

    async def auto_topup_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.auto_topup_interval_seconds)
            try:
                await self.run_auto_topups()
            except Exception as exc:  # the database or Stripe may be away; try again next time
                log.warning("auto top-up check failed, will retry: %s: %s", type(exc).__name__, exc)

    async def run_auto_topups(self) -> None:
        async with self.sessions() as session:
            due = await auto_topup.due_accounts(session)
            stalled = await auto_topup.stalled_claims(session, utcnow() - STALLED_AFTER)
        for account_id in due:
            claim = await auto_topup.claim(self.sessions, account_id, self.settings.tax_basis_points,
                                           self.settings.currency)
            if claim is not None:
                await self._charge(claim)
        for claim in stalled:
            await self._charge(claim)

    async def _charge(self, claim: auto_topup.Claim) -> None:
        try:
            intent = await self.require_enabled().charge_off_session(claim.payment, claim.customer_id,
                                                                     claim.payment_method_id)
        except stripe_error() as exc:  # not a decline: the claim stays, and is charged again later
            log.warning("auto top-up %s: Stripe did not answer the charge (%s); will retry", claim.payment.id, exc)
            return
        async with self.sessions.begin() as session:
            payment = await outcomes.locked_payment(session, claim.payment.id)
            if payment is not None:   # the claim's own row: nothing deletes it
                await outcomes.apply_intent(session, payment, intent)
        await self._refresh(claim.payment.account_id)

    async def _refresh(self, account_id: str) -> None:
        self._auth.drop_account(account_id)
        await self._book.catch_up()
