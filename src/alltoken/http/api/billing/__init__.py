"""/api/billing/*: the caller's balance, card top-ups and auto top-up, low-balance alerts, redemption
codes, transactions and monthly statements."""

from fastapi import APIRouter

from alltoken.http.api.billing import alerts, balance, redeem, statements, topups

router = APIRouter()
for _part in (topups, statements, alerts, balance, redeem):
    router.include_router(_part.router)
