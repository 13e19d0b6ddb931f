"""/api/stripe/webhook: Stripe's event deliveries (card top-ups: billing/topups.py)."""

from fastapi import APIRouter, Request

from alltoken.http.api.billing.topups import as_api_errors, topups_of
from alltoken.http.errors import bad_request
from alltoken.payments.stripe_api import signature_error

router = APIRouter(tags=["billing"])


@router.post("/stripe/webhook")
async def stripe_webhook(request: Request) -> dict:
    """Stripe's event deliveries. No API key: the Stripe-Signature header must verify against the webhook
    secret, else 400 and nothing is applied. Each event applies once; types AllToken does not use are
    acknowledged and ignored."""
    payload = await request.body()
    with as_api_errors():
        try:
            await topups_of(request).handle_webhook(payload, request.headers.get("stripe-signature"))
        except signature_error() as exc:
            raise bad_request(f"webhook signature not verified: {exc.user_message}",
                              code="invalid_signature") from None
        except ValueError as exc:
            raise bad_request(f"not a Stripe event: {exc}", code="invalid_event") from None
    return {"received": True}
