"""Who calls an account-scoped management endpoint: a console session (cookie, CSRF-checked on
changes) or an API key of the account (Bearer). Either way the endpoint acts on one account only."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ..accounts import sessions
from ..accounts.cache import KeyRecord
from ..gateway.auth import authenticate, check_account
from ..gateway.errors import forbidden, unauthorized

SESSION_COOKIE = "atk_session"
CSRF_COOKIE = "atk_csrf"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class AccountCaller:
    account_id: str
    key: KeyRecord | None = None                 # when called with an API key
    signed_in: sessions.SignedIn | None = None   # when called from the console
    is_admin: bool = False                       # the key's account, or the signed-in user, administers the platform

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"user:{self.signed_in.user_id}" if self.signed_in else f"key:{self.key.id}"


async def account_caller(request: Request) -> AccountCaller:
    if request.headers.get("authorization") or request.headers.get("x-api-key"):
        # An account on a billing hold may still top up and read its billing: that is how it gets out.
        caller = await authenticate(request, request.app.state.gateway.auth, allow_billing_hold=True)
        return AccountCaller(caller.account.id, key=caller.key, is_admin=caller.account.is_admin)
    signed_in = await signed_in_user(request)
    if request.method not in _SAFE_METHODS:
        if not sessions.csrf_matches(signed_in, request.headers.get(CSRF_HEADER)):
            raise forbidden(f"missing or wrong {CSRF_HEADER} header: send the CSRF token the console was given",
                            code="csrf_failed")
        # A suspended or terminated account's people may still sign in and read why, not change things.
        account = await request.app.state.gateway.loaders.account(signed_in.account_id)
        check_account(account, allow_billing_hold=True)
    return AccountCaller(signed_in.account_id, signed_in=signed_in, is_admin=signed_in.is_admin)


async def signed_in_user(request: Request) -> sessions.SignedIn:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with request.app.state.gateway.sessions.begin() as session:
            found = await sessions.find(session, token)
        if found is not None:
            return found
    raise unauthorized("not signed in: sign in to the console, or send an API key", code="not_signed_in")


# An endpoint parameter `caller: AccountScope` gets the caller, either way, and the account it acts on.
AccountScope = Annotated[AccountCaller, Depends(account_caller)]
