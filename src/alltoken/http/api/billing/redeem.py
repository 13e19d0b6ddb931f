"""POST /api/billing/redeem: the console (or an API key) redeems a code for the caller's account, exactly as
POST /v1/credits/redeem does."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from alltoken.http.api.callers import BillingScope
from alltoken.http.gateway import gateway_of
from alltoken.http.v1.redeem import redeem_for_account

router = APIRouter(prefix="/billing", tags=["billing"])


class RedeemRequest(BaseModel):
    code: str = Field(max_length=200, description="The redemption code, e.g. K7QX-M2PD-9HTA-WRZE (case, spaces "
                                                  "and dashes do not matter)")


class Redeemed(BaseModel):
    amount_usd: str = Field(description="The credit the code added")
    balance_usd: str = Field(description="The account's balance after it")


@router.post("/redeem", response_model=Redeemed)
async def redeem(body: RedeemRequest, request: Request, caller: BillingScope) -> Redeemed:
    """Redeem a code: its credit is added to the account at once. Each account may use a code once."""
    return Redeemed(**await redeem_for_account(gateway_of(request), caller.account_id, body.code))
