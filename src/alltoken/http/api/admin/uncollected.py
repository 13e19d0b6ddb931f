"""Admin view of uncollected cost: the accounts whose requests cost more than their balance or a limit
could take (docs/billing.md, "Uncollected cost"), for the operator to follow up."""

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from alltoken.billing.uncollected import accounts_with_uncollected
from alltoken.http.api.callers import AccountCaller, admin
from alltoken.http.gateway import gateway_of
from alltoken.money import units_to_usd_str

router = APIRouter(prefix="/admin/uncollected", tags=["admin"])


class UncollectedAccount(BaseModel):
    account_id: str
    email: str
    name: str | None
    uncollected_usd: str = Field(description="What its requests cost beyond what could be charged, in total")
    requests: int = Field(description="How many of its requests were charged less than they cost")
    last_at: datetime = Field(description="When the latest of them was settled")


class UncollectedList(BaseModel):
    data: list[UncollectedAccount] = Field(description="The most recent first")


@router.get("", response_model=UncollectedList)
async def uncollected(request: Request, limit: int = Query(100, ge=1, le=1000),
                      _: AccountCaller = Depends(admin)) -> UncollectedList:
    """Accounts with cost not collected: a provider reported more usage than the request's hold, and the
    balance (down to its credit line), the key's limit or the team member's limit could not take it all."""
    async with gateway_of(request).sessions() as session:
        found = await accounts_with_uncollected(session, limit)
    return UncollectedList(data=[UncollectedAccount(account_id=row.account_id, email=row.email, name=row.name,
                                                    uncollected_usd=units_to_usd_str(row.units),
                                                    requests=row.requests, last_at=row.last_at) for row in found])
