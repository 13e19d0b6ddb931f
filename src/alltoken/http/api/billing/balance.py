"""The caller's balance, for the console's Billing page (a console session or an API key of the account);
the same figures as GET /v1/credits, which takes an API key only."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from alltoken.http.api.callers import AccountScope
from alltoken.http.gateway import gateway_of
from alltoken.money import units_to_usd_str

router = APIRouter(prefix="/billing", tags=["billing"])


class BalanceView(BaseModel):
    account_id: str
    balance_usd: str = Field(description="After every settled charge")
    reserved_usd: str = Field(description="Held for requests in progress on this server")
    available_usd: str = Field(description="Balance less what is held")


@router.get("/balance", response_model=BalanceView)
async def balance(request: Request, caller: AccountScope) -> BalanceView:
    book = gateway_of(request).book
    units = await book.balance_units(caller.account_id)
    reserved = book.reserved_units(caller.account_id)
    return BalanceView(account_id=caller.account_id, balance_usd=units_to_usd_str(units),
                       reserved_usd=units_to_usd_str(reserved), available_usd=units_to_usd_str(units - reserved))
