"""The caller's low-balance email alert: its threshold is set by those who may pay (a key too); where the email
goes, when that is not the account's own address, only by the owner with a freshly confirmed password
(accounts/roles.py, CONFIRMED): an alert is a message about the account, sent wherever it says."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from alltoken.accounts.roles import CONFIRMED
from alltoken.accounts.service import get_account, normalized_email
from alltoken.billing import alerts
from alltoken.http.api.callers import AccountCaller, AccountScope, BillingScope, authorize
from alltoken.http.errors import bad_request
from alltoken.http.gateway import gateway_of
from alltoken.money import units_to_usd_str
from alltoken.store.models import BalanceAlert

router = APIRouter(prefix="/billing", tags=["billing"])


class AlertUpdate(BaseModel):
    low_balance_usd: str | None = Field(description="Email when the balance falls below this many USD (a decimal "
                                                    "string); null turns the alert off")
    email: str | None = Field(None, description="Where to send it; null: the account's email; absent: unchanged. "
                                                "Another address needs the owner's console session, password "
                                                "confirmed")


class AlertView(BaseModel):
    low_balance_usd: str | None
    email: str
    outstanding: bool = Field(description="The balance is below the threshold now (an alert was raised)")
    triggered_at: str | None
    notified_at: str | None = Field(description="When the alert's email went out; null while not (yet) sent")
    email_enabled: bool = Field(description="This server has SMTP configured; without it alerts are only recorded")


@router.get("/alerts", response_model=AlertView)
async def get_alert(request: Request, caller: AccountScope) -> AlertView:
    async with gateway_of(request).sessions() as session:
        return await _view(request, session, await alerts.get_alert(session, caller.account_id), caller)


@router.put("/alerts", response_model=AlertView)
async def put_alert(update: AlertUpdate, request: Request, caller: BillingScope) -> AlertView:
    """Set or turn off the alert; a change re-arms it (judged afresh on the next check)."""
    try:
        threshold = None if update.low_balance_usd is None else alerts.parse_threshold(update.low_balance_usd)
    except ValueError as exc:  # MoneyFormatError too
        raise bad_request(str(exc), param="low_balance_usd") from None
    try:
        email = normalized_email(update.email) if update.email else None
    except ValueError as exc:
        raise bad_request(str(exc), param="email") from None
    async with gateway_of(request).sessions.begin() as session:
        current = await alerts.get_alert(session, caller.account_id)
        kept = current.email if current else None
        if "email" not in update.model_fields_set:
            email = kept
        elif email not in (None, kept, (await get_account(session, caller.account_id)).email):
            authorize(caller, CONFIRMED)   # the alert would go somewhere new
        alert = await alerts.set_alert(session, caller.account_id, threshold, email)
        return await _view(request, session, alert, caller)


async def _view(request: Request, session, alert: BalanceAlert | None, caller: AccountCaller) -> AlertView:
    email = alert.email if alert and alert.email else (await get_account(session, caller.account_id)).email
    return AlertView(
        low_balance_usd=units_to_usd_str(alert.threshold_units) if alert else None, email=email,
        outstanding=bool(alert and alert.triggered_at), triggered_at=_iso(alert and alert.triggered_at),
        notified_at=_iso(alert and alert.notified_at),
        email_enabled=gateway_of(request).settings.smtp is not None)


def _iso(value) -> str | None:
    return value.isoformat() if value else None
