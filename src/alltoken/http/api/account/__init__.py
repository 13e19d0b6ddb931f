"""/api/account/*: the caller's own account: its notices, API keys, routing policy, the accounts a
signed-in user acts in, and its data (export, deletion)."""

from fastapi import APIRouter

from alltoken.http.api.account import data, keys, memberships, notices, routing

router = APIRouter()
for _part in (data, notices, keys, memberships, routing):
    router.include_router(_part.router)
