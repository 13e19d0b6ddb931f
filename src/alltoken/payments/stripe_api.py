"""The Stripe calls top-ups make, through the official library's async client, and webhook verification.

The library takes ~0.2 s to import, so it is imported on first use: a server without top-ups never loads it,
and no Stripe error can exist before it is loaded."""

import logging
from typing import TYPE_CHECKING

from alltoken.config import StripeSettings
from alltoken.payments.amounts import cents_to_usd_str
from alltoken.store.models import Payment

if TYPE_CHECKING:
    import stripe
    from stripe.params.checkout import SessionCreateParams, SessionCreateParamsLineItem

# Our payment id rides on the Checkout Session and its PaymentIntent, so any event finds its payment.
PAYMENT_ID = "alltoken_payment_id"
ACCOUNT_ID = "alltoken_account_id"

logging.getLogger("stripe").setLevel(logging.WARNING)   # it logs every request at INFO; we log what matters


def stripe_error() -> "type[stripe.StripeError]":
    """Stripe's base error class (for `except stripe_error():`)."""
    import stripe

    return stripe.StripeError


def signature_error() -> "type[stripe.SignatureVerificationError]":
    """The error Stripe raises for a webhook whose signature does not verify."""
    import stripe

    return stripe.SignatureVerificationError


class StripeApi:
    def __init__(self, settings: StripeSettings):
        import stripe

        if not (settings.secret_key and settings.success_url and settings.cancel_url):   # config refuses this first
            raise ValueError("Stripe needs a secret key, a success_url and a cancel_url")
        self._settings = settings
        self._success_url, self._cancel_url = settings.success_url, settings.cancel_url
        self._http = stripe.AIOHTTPClient(timeout=30)
        self._client = stripe.StripeClient(settings.secret_key, base_addresses={"api": settings.api_base},
                                           http_client=self._http, max_network_retries=2)

    async def close(self) -> None:
        await self._http.close_async()

    def verify_event(self, payload: bytes, signature: str | None) -> dict:
        """The event, if `signature` (the Stripe-Signature header) proves Stripe sent this payload; raises
        stripe.SignatureVerificationError, or ValueError for a body that is not an event."""
        event = self._client.construct_event(payload, signature, self._settings.webhook_secret)
        return event.to_dict()

    async def create_customer(self, account_id: str, email: str) -> str:
        customer = await self._client.v1.customers.create_async(
            params={"email": email, "metadata": {ACCOUNT_ID: account_id}},
            options={"idempotency_key": f"alltoken-customer-{account_id}"})
        return customer.id

    async def create_checkout_session(self, payment: Payment, customer_id: str) -> tuple[str, str]:
        """A hosted Checkout page for the payment: (session id, its URL). The card is saved for auto top-up."""
        metadata = _metadata(payment)
        line_items = [_line("AllToken credit", payment.total_cents - payment.tax_cents, payment.currency)]
        if payment.tax_cents:
            line_items.append(_line("Tax", payment.tax_cents, payment.currency))
        params: SessionCreateParams = {
            "mode": "payment", "customer": customer_id, "client_reference_id": payment.account_id,
            "line_items": line_items, "metadata": metadata,
            "payment_intent_data": {"setup_future_usage": "off_session", "metadata": metadata,
                                    "description": _description(payment)},
            "success_url": self._success_url, "cancel_url": self._cancel_url,
        }
        session = await self._client.v1.checkout.sessions.create_async(
            params=params, options={"idempotency_key": f"alltoken-checkout-{payment.id}"})
        if session.url is None:
            raise ValueError(f"Stripe answered checkout session {session.id} without its URL")
        return session.id, session.url

    async def charge_off_session(self, payment: Payment, customer_id: str, payment_method_id: str) -> dict:
        """Charge the saved card now (auto top-up). Returns the PaymentIntent, declined or not; the idempotency
        key makes a repeated call for the same payment the same charge."""
        import stripe

        try:
            intent = await self._client.v1.payment_intents.create_async(params={
                "amount": payment.total_cents, "currency": payment.currency, "customer": customer_id,
                "payment_method": payment_method_id, "off_session": True, "confirm": True,
                "metadata": _metadata(payment), "description": _description(payment),
            }, options={"idempotency_key": f"alltoken-auto-topup-{payment.id}"})
        except stripe.CardError as declined:  # a decline still created the PaymentIntent: the error carries it
            error = declined.json_body.get("error") if isinstance(declined.json_body, dict) else None
            declined_intent = error.get("payment_intent") if isinstance(error, dict) else None
            if not isinstance(declined_intent, dict):
                raise
            return declined_intent
        return intent.to_dict()

    async def retrieve_payment_intent(self, intent_id: str) -> dict:
        return (await self._client.v1.payment_intents.retrieve_async(intent_id)).to_dict()


def _metadata(payment: Payment) -> dict[str, str]:
    return {PAYMENT_ID: payment.id, ACCOUNT_ID: payment.account_id}


def _line(name: str, cents: int, currency: str) -> "SessionCreateParamsLineItem":
    return {"quantity": 1, "price_data": {"currency": currency, "unit_amount": cents, "product_data": {"name": name}}}


def _description(payment: Payment) -> str:
    kind = "automatic top-up" if payment.kind == "auto" else "top-up"
    return f"AllToken {kind}: {cents_to_usd_str(payment.total_cents - payment.tax_cents)} USD of credit"
