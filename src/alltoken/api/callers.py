"""Who calls an account-scoped management endpoint: a console session (cookie, CSRF-checked on
changes) or an API key of the account (Bearer). Either way the endpoint acts on one account only,
with the caller's role in it (accounts/roles.py says what each role may do)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ..accounts import sessions
from ..accounts.cache import KeyRecord
from ..accounts.roles import BILLING, KEYS, MANAGE, READ, may, refusal
from ..gateway.auth import authenticate, check_account
from ..gateway.errors import forbidden, unauthorized
from ..store.models import TeamMember

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
    role: str | None = None                      # the person's role in the account; None: the account's own key
    member_id: str | None = None                 # the user acting as a team member: keys they make are theirs

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"user:{self.signed_in.user_id}" if self.signed_in else f"key:{self.key.id}"


async def account_caller(request: Request) -> AccountCaller:
    if request.headers.get("authorization") or request.headers.get("x-api-key"):
        # An account on a billing hold may still top up and read its billing: that is how it gets out.
        caller = await authenticate(request, request.app.state.gateway.auth, allow_billing_hold=True)
        member_id = caller.key.member.user_id if caller.key.member else None
        role = await _member_role(request, caller.account.id, member_id) if member_id else None
        return AccountCaller(caller.account.id, key=caller.key, is_admin=caller.account.is_admin, role=role,
                             member_id=member_id)
    signed_in = await signed_in_user(request)
    if request.method not in _SAFE_METHODS:
        if not sessions.csrf_matches(signed_in, request.headers.get(CSRF_HEADER)):
            raise forbidden(f"missing or wrong {CSRF_HEADER} header: send the CSRF token the console was given",
                            code="csrf_failed")
        # A suspended or terminated account's people may still sign in and read why, not change things.
        account = await request.app.state.gateway.loaders.account(signed_in.account_id)
        check_account(account, allow_billing_hold=True)
    return AccountCaller(signed_in.account_id, signed_in=signed_in, is_admin=signed_in.is_admin, role=signed_in.role,
                         member_id=signed_in.user_id if signed_in.in_team else None)


async def _member_role(request: Request, account_id: str, user_id: str) -> str:
    """Read afresh, so a change of role applies at once."""
    async with request.app.state.gateway.sessions() as session:
        membership = await session.get(TeamMember, (account_id, user_id))
    if membership is None:
        raise forbidden("this key's owner is no longer a member of the team", code="not_a_member")
    return membership.role


async def session_user(request: Request) -> sessions.SignedIn:
    """The signed-in user, whichever account their session acts in; CSRF-checked on changes."""
    signed_in = await signed_in_user(request)
    if request.method not in _SAFE_METHODS and not sessions.csrf_matches(signed_in, request.headers.get(CSRF_HEADER)):
        raise forbidden(f"missing or wrong {CSRF_HEADER} header: send the CSRF token the console was given",
                        code="csrf_failed")
    return signed_in


async def signed_in_user(request: Request) -> sessions.SignedIn:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with request.app.state.gateway.sessions.begin() as session:
            found = await sessions.find(session, token)
        if found is not None:
            return found
    raise unauthorized("not signed in: sign in to the console, or send an API key", code="not_signed_in")


def requires(action: str | None, code: str = "role_forbidden"):
    """A dependency: the caller, if their role allows `action`; None: READ for a read, MANAGE for a change."""
    async def allowed(request: Request, caller: AccountCaller = Depends(account_caller)) -> AccountCaller:
        needed = action or (READ if request.method in _SAFE_METHODS else MANAGE)
        if caller.signed_in is not None and caller.role is None:   # (signing out still works: no role needed)
            raise forbidden("you are no longer a member of the account this session acts on: switch to another "
                            "(POST /api/auth/switch-account)", code="not_a_member")
        if not may(caller.role, needed):
            raise forbidden(refusal(caller.role, needed), code=code)
        return caller
    return allowed


# An endpoint parameter `caller: AccountScope` gets the caller, either way, and the account it acts on; any
# role may read, only owners and admins change. The narrower scopes open a change to more roles.
AccountScope = Annotated[AccountCaller, Depends(requires(None))]
BillingScope = Annotated[AccountCaller, Depends(requires(BILLING))]   # + billing
KeysScope = Annotated[AccountCaller, Depends(requires(KEYS))]         # + developer
ManageScope = Annotated[AccountCaller, Depends(requires(MANAGE))]     # owners and admins only, even to read
