"""/api/billing/checkout, payments, auto-topup: card top-ups for the caller's account (Stripe reports the
payments to stripe_webhook.py).

The account endpoints take the caller's Bearer API key and act on its account only. They stay open while
the account is held for a failed or disputed payment, so that it can pay and get access back.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, PlainValidator, StrictBool

from alltoken.http.api.callers import AccountScope, BillingScope
from alltoken.http.errors import ApiError, bad_request
from alltoken.http.gateway import gateway_of
from alltoken.money import MoneyFormatError, units_to_usd_str, usd_to_units
from alltoken.payments import auto_topup, receipts
from alltoken.payments.amounts import UNITS_PER_CENT, AmountError, cents_to_usd_str, check_topup, parse_cents, quote
from alltoken.payments.service import TopUps, TopUpsNotConfigured
from alltoken.payments.stripe_api import stripe_error

router = APIRouter(tags=["billing"])


def _usd_amount(value):
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError('give USD as a decimal string, e.g. "20" or "12.50" (money is never a float)')
    return value


UsdAmount = Annotated[str | int, PlainValidator(_usd_amount, json_schema_input_type=str | int)]


def topups_of(request: Request) -> TopUps:
    return gateway_of(request).topups


@contextmanager
def as_api_errors(param: str | None = None) -> Iterator[None]:
    try:
        yield
    except TopUpsNotConfigured as exc:
        raise ApiError(501, f"{exc}: set stripe.secret_key (see docs/configuration.md)",
                       type="invalid_request_error", code="topups_not_configured") from None
    except (AmountError, auto_topup.AutoTopUpRefused, MoneyFormatError) as exc:
        raise bad_request(str(exc), param=param) from None
    except stripe_error() as exc:
        raise ApiError(502, f"Stripe refused or did not answer: {exc.user_message or type(exc).__name__}",
                       type="api_error", code="stripe_error") from None


class CheckoutRequest(BaseModel):
    amount_usd: UsdAmount = Field(description="Credit to buy in USD, whole cents ('20', '12.50'); tax is added")


class CheckoutView(BaseModel):
    payment_id: str
    session_id: str = Field(description="The Stripe Checkout Session")
    checkout_url: str = Field(description="Send the customer here to pay")
    amount_usd: str = Field(description="Credit bought")
    tax_usd: str
    total_usd: str = Field(description="Charged: credit plus tax")
    currency: str


@router.post("/billing/checkout", response_model=CheckoutView)
async def checkout(body: CheckoutRequest, request: Request, caller: BillingScope) -> CheckoutView:
    """Start a card top-up: a Stripe Checkout page for the credit plus tax. The credit arrives when Stripe
    reports the payment (webhook), and the card is saved for auto top-up."""
    with as_api_errors(param="amount_usd"):
        payment, session_id, url = await topups_of(request).checkout(caller.account_id, body.amount_usd)
    return CheckoutView(payment_id=payment.id, session_id=session_id, checkout_url=url,
                        amount_usd=units_to_usd_str(payment.credit_units), tax_usd=cents_to_usd_str(payment.tax_cents),
                        total_usd=cents_to_usd_str(payment.total_cents), currency=payment.currency)


@router.get("/billing/payments")
async def payments(request: Request, caller: AccountScope, limit: int = Query(50, ge=1, le=500)) -> dict:
    """The caller's payments, newest first: each one's receipt, and whether API access is on hold."""
    async with topups_of(request).sessions() as session:
        return {"data": await receipts.account_payments(session, caller.account_id, limit),
                "billing_hold": await receipts.billing_hold(session, caller.account_id)}


class AutoTopUpUpdate(BaseModel):
    enabled: StrictBool
    threshold_usd: UsdAmount = Field(description="Top up when the balance falls below this")
    amount_usd: UsdAmount = Field(description="Credit each auto top-up buys (whole cents; tax is added)")


class AutoTopUpView(BaseModel):
    enabled: bool
    threshold_usd: str
    amount_usd: str
    tax_usd: str
    total_usd: str = Field(description="What each auto top-up charges the saved card")
    card_saved: bool = Field(description="A Checkout payment saved a card to charge")
    switched_off_because: str | None = Field(description="Why auto top-up turned itself off, if it did")
    card_payments_enabled: bool = Field(description="This server takes card payments (Stripe is configured)")
    minimum_usd: str = Field(description="The smallest credit one top-up may buy")


@router.get("/billing/auto-topup", response_model=AutoTopUpView)
async def get_auto_topup(request: Request, caller: AccountScope) -> AutoTopUpView:
    async with topups_of(request).sessions() as session:
        return _auto_topup_view(request, await auto_topup.read_config(session, caller.account_id))


@router.put("/billing/auto-topup", response_model=AutoTopUpView)
async def put_auto_topup(update: AutoTopUpUpdate, request: Request, caller: BillingScope) -> AutoTopUpView:
    """Turn auto top-up on or off: when the balance falls below `threshold_usd`, the saved card is charged
    for `amount_usd` plus tax, once per dip."""
    topups = topups_of(request)
    with as_api_errors(param="amount_usd"):
        topups.require_enabled()
        amount = check_topup(quote(parse_cents(update.amount_usd), topups.settings.tax_basis_points),
                             topups.settings.minimum_cents).credit_units
    with as_api_errors(param="threshold_usd"):
        threshold = usd_to_units(update.threshold_usd)
        if threshold < 0:
            raise AmountError("threshold_usd: 0 or more")
    with as_api_errors(param="enabled"):
        async with topups.sessions.begin() as session:
            config = await auto_topup.write_config(session, caller.account_id, update.enabled, threshold, amount)
    return _auto_topup_view(request, config)


def _auto_topup_view(request: Request, config: auto_topup.AutoTopUpConfig) -> AutoTopUpView:
    q = quote(config.amount_units // UNITS_PER_CENT, topups_of(request).settings.tax_basis_points)
    return AutoTopUpView(enabled=config.enabled, threshold_usd=units_to_usd_str(config.threshold_units),
                         amount_usd=units_to_usd_str(config.amount_units), tax_usd=cents_to_usd_str(q.tax_cents),
                         total_usd=cents_to_usd_str(q.total_cents), card_saved=config.card_saved,
                         switched_off_because=config.switched_off_because,
                         card_payments_enabled=topups_of(request).enabled,
                         minimum_usd=cents_to_usd_str(topups_of(request).settings.minimum_cents))
