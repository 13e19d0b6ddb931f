"""/api/account/notices: what the account is told about itself: its enforcement state (active, warned,
rate_limited, suspended, terminated) and warnings, a billing hold after a failed or disputed payment, and a
material terms version it has yet to accept (with the end of its grace period)."""

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts import terms
from alltoken.accounts.service import get_account
from alltoken.governance.enforcement import notices
from alltoken.http.api.callers import AccountScope
from alltoken.http.api.service_errors import service_errors
from alltoken.http.gateway import gateway_of
from alltoken.ids import utcnow
from alltoken.runtime.gateway import Gateway

router = APIRouter(prefix="/account", tags=["account"])


class TermsOwed(BaseModel):
    version: str
    url: str | None
    must_accept_by: datetime


class AccountWarning(BaseModel):
    at: datetime
    reason: str


class Notices(BaseModel):
    account_id: str
    status: str
    status_reason: str | None
    status_since: datetime
    warnings: list[AccountWarning]
    billing_hold: str | None = None          # payment_failed | payment_disputed: API access held until paid
    billing_hold_reason: str | None = None
    terms_owed: TermsOwed | None = None      # a material terms version to accept, and by when


@router.get("/notices", response_model=Notices)
async def account_notices(request: Request, caller: AccountScope) -> Notices:
    """The account's enforcement state (active, warned, rate_limited, suspended, terminated), why and since when,
    its warnings, any billing hold, and terms it must accept."""
    state = gateway_of(request)
    async with state.sessions() as session:
        with service_errors():
            return Notices(**await notices(session, caller.account_id),
                           **await billing_and_terms(state, session, caller.account_id))


async def billing_and_terms(state: Gateway, session: AsyncSession, account_id: str) -> dict:
    account = await get_account(session, account_id)
    latest = await terms.latest_acceptance(session, account_id)
    owed = state.terms.owed(latest[1].effective_at if latest else None, utcnow())
    record = await state.loaders.account(account_id)
    if record is not None and record.is_admin:   # administrators run the platform: not held to its terms
        owed = None
    return {"billing_hold": account.billing_hold, "billing_hold_reason": account.billing_hold_reason,
            "terms_owed": TermsOwed(version=owed.version, url=owed.url, must_accept_by=owed.deadline) if owed else None}
