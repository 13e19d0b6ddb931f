"""Admin endpoints to find accounts (search by id, email or name) and see one: its balance, state, billing
hold, enforcement history, users, keys and spend this month."""

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from alltoken.accounts.directory import AccountPosition, facts, search
from alltoken.accounts.service import get_account
from alltoken.billing.uncollected import account_uncollected
from alltoken.governance.enforcement import describe_action, history
from alltoken.http.api.admin.accounts import EnforcementView
from alltoken.http.api.callers import AccountCaller, admin
from alltoken.http.api.service_errors import service_errors
from alltoken.http.errors import bad_request
from alltoken.http.gateway import gateway_of
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_str

router = APIRouter(prefix="/admin", tags=["admin"])


class AccountSummary(BaseModel):
    id: str
    email: str
    name: str | None
    kind: str = Field(description="personal or team")
    status: str = Field(description="active, warned, rate_limited, suspended, terminated or deleted")
    created_at: datetime


class AccountPage(BaseModel):
    data: list[AccountSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class AccountUser(BaseModel):
    id: str
    email: str
    is_admin: bool
    created_at: datetime


class AccountDetail(AccountSummary):
    status_reason: str | None = Field(description="The reason the administrator gave for the state")
    billing_hold: str | None = Field(description="payment_failed or payment_disputed: API access held until paid")
    billing_hold_reason: str | None
    balance_usd: str
    reserved_usd: str = Field(description="Held for requests in progress on this server")
    uncollected_usd: str = Field(description="Cost of its requests beyond what its balance or limits could take "
                                             "(docs/billing.md, \"Uncollected cost\")")
    spend_this_month_usd: str = Field(description="Usage cost since the first of this month (UTC)")
    requests_this_month: int
    keys_active: int
    keys_total: int
    users: list[AccountUser]
    enforcement: list[EnforcementView] = Field(description="Every change of state, oldest first")


@router.get("/accounts", response_model=AccountPage)
async def search_accounts(request: Request, q: str | None = Query(None, max_length=320,
                                                                  description="Part of an id, email or name"),
                          cursor: str | None = Query(None, description="next_cursor of the previous page"),
                          limit: int = Query(50, ge=1, le=500), _: AccountCaller = Depends(admin)) -> AccountPage:
    """Accounts whose id, email, name (or a user's email) contains `q`, newest first."""
    try:
        after = AccountPosition.decode(cursor) if cursor else None
    except ValueError as exc:
        raise bad_request(str(exc), param="cursor") from None
    async with gateway_of(request).sessions() as session:
        found = await search(session, (q or "").strip(), limit + 1, after)
    page = found[:limit]
    more = len(found) > limit
    return AccountPage(data=[_summary(account) for account in page],
                       next_cursor=AccountPosition(page[-1].created_at, page[-1].id).encode() if more else None)


@router.get("/accounts/{account_id}", response_model=AccountDetail)
async def show_account(account_id: str, request: Request, _: AccountCaller = Depends(admin)) -> AccountDetail:
    state = gateway_of(request)
    async with state.sessions() as session:
        with service_errors():
            account = await get_account(session, account_id)
            actions = await history(session, account_id)
        found = await facts(session, account_id, utcnow())
        uncollected = await account_uncollected(session, account_id)
    balance = await state.book.balance_units(account_id)
    return AccountDetail(
        **_summary(account).model_dump(), status_reason=account.status_reason, billing_hold=account.billing_hold,
        billing_hold_reason=account.billing_hold_reason, balance_usd=units_to_usd_str(balance),
        reserved_usd=units_to_usd_str(state.book.reserved_units(account_id)),
        uncollected_usd=units_to_usd_str(uncollected),
        spend_this_month_usd=units_to_usd_str(found.spend_units_this_month),
        requests_this_month=found.requests_this_month, keys_active=found.keys_active, keys_total=found.keys_total,
        users=[AccountUser(id=u.id, email=u.email, is_admin=u.is_admin, created_at=u.created_at) for u in found.users],
        enforcement=[EnforcementView(**describe_action(action)) for action in actions])


def _summary(account) -> AccountSummary:
    return AccountSummary(id=account.id, email=account.email, name=account.name, kind=account.kind,
                          status=account.status, created_at=account.created_at)
