"""Who calls an account-scoped management endpoint: a console session (cookie, CSRF-checked on
changes) or an API key of the account (Bearer). Either way the endpoint acts on one account only, with
the caller's role in it. accounts/roles.py decides what that allows; the scopes below apply it as the
endpoint's dependency, before its body is read, so a refusal never depends on what was sent."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from alltoken.accounts import roles, sessions
from alltoken.accounts.cache import KeyRecord
from alltoken.accounts.roles import BILLING, CONFIRMED, KEYS, MANAGE, OWN, READ
from alltoken.http.auth import authenticate, check_account
from alltoken.http.errors import forbidden, unauthorized
from alltoken.http.gateway import gateway_of
from alltoken.ids import utcnow
from alltoken.store.models import TeamMember

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
    confirmed: bool = False                      # a session whose user confirmed their password a moment ago

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        if self.signed_in is not None:
            return f"user:{self.signed_in.user_id}"
        if self.key is None:
            raise RuntimeError("an account caller holds a console session or an API key")
        return f"key:{self.key.id}"

    @property
    def console_session(self) -> sessions.SignedIn:
        """The caller's console session, for an endpoint whose scope refuses keys."""
        if self.signed_in is None:
            raise session_required()
        return self.signed_in

    @property
    def restricted(self) -> bool:
        return self.key is not None and is_restricted(self.key)


def is_restricted(key: KeyRecord) -> bool:
    """A key limited by a model list, spending limit, IP allow-list or expiry."""
    return key.models is not None or key.limit_units is not None or key.networks is not None or bool(key.expires_at)


async def account_caller(request: Request) -> AccountCaller:
    if _has_key(request):
        # An account on a billing hold may still top up and read its billing: that is how it gets out.
        caller = await authenticate(request, gateway_of(request).auth, allow_billing_hold=True)
        member_id = caller.key.member.user_id if caller.key.member else None
        role = await _member_role(request, caller.account.id, member_id) if member_id else None
        return AccountCaller(caller.account.id, key=caller.key, is_admin=caller.account.is_admin, role=role,
                             member_id=member_id)
    signed_in = await signed_in_user(request)
    if request.method not in _SAFE_METHODS:
        _check_csrf(request, signed_in)
        # A suspended or terminated account's people may still sign in and read why, not change things.
        account = await gateway_of(request).loaders.account(signed_in.account_id)
        if account is None:
            raise RuntimeError(f"the session's account {signed_in.account_id} did not load")
        check_account(account, allow_billing_hold=True)
    return AccountCaller(signed_in.account_id, signed_in=signed_in, is_admin=signed_in.is_admin, role=signed_in.role,
                         member_id=signed_in.user_id if signed_in.in_team else None,
                         confirmed=signed_in.recently_confirmed(utcnow()))


async def _member_role(request: Request, account_id: str, user_id: str) -> str:
    """Read afresh, so a change of role applies at once."""
    async with gateway_of(request).sessions() as session:
        membership = await session.get(TeamMember, (account_id, user_id))
    if membership is None:
        raise forbidden("this key's owner is no longer a member of the team", code="not_a_member")
    return membership.role


async def session_user(request: Request) -> sessions.SignedIn:
    """The signed-in user, whichever account their session acts in; CSRF-checked on changes."""
    signed_in = await signed_in_user(request)
    if request.method not in _SAFE_METHODS:
        _check_csrf(request, signed_in)
    return signed_in


async def signed_in_user(request: Request) -> sessions.SignedIn:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with gateway_of(request).sessions.begin() as session:
            found = await sessions.find(session, token)
        if found is not None:
            return found
    if _has_key(request):
        raise session_required()
    raise unauthorized("not signed in: sign in to the console, or send an API key", code="not_signed_in")


def session_required():
    return forbidden("this needs a console session: an API key cannot do it", code="session_required")


def _has_key(request: Request) -> bool:
    return bool(request.headers.get("authorization") or request.headers.get("x-api-key"))


def _check_csrf(request: Request, signed_in: sessions.SignedIn) -> None:
    if not sessions.csrf_matches(signed_in, request.headers.get(CSRF_HEADER)):
        raise forbidden(f"missing or wrong {CSRF_HEADER} header: send the CSRF token the console was given",
                        code="csrf_failed")


def authorize(caller: AccountCaller, action: str, code: str | None = None) -> None:
    """The policy's refusal as a 403, if any; `code` names a refusal for want of a role (role_forbidden)."""
    if caller.signed_in is not None and caller.role is None:   # (signing out still works: no role needed)
        raise forbidden("you are no longer a member of the account this session acts on: switch to another "
                        "(POST /api/auth/switch-account)", code="not_a_member")
    refused = roles.refusal(caller.role, action, by_key=caller.key is not None, restricted=caller.restricted,
                            confirmed=caller.confirmed)
    if refused is not None:
        raise forbidden(refused.message, code=code if code and refused.code == "role_forbidden" else refused.code)


def requires(action: str | None, code: str | None = None, *, session_only: bool = False):
    """A dependency: the caller, if the policy lets them do `action` (None: READ for a read, MANAGE for a
    change); `session_only` refuses every key."""
    async def allowed(request: Request, caller: AccountCaller = Depends(account_caller)) -> AccountCaller:
        if session_only and caller.key is not None:
            raise session_required()
        authorize(caller, action or (READ if request.method in _SAFE_METHODS else MANAGE), code)
        return caller
    return allowed


async def admin(request: Request) -> AccountCaller:
    """A Bearer API key of an administrator's account, or an administrator's console session (CSRF-checked
    on changes, as every account-scoped endpoint)."""
    caller = await account_caller(request)
    if not caller.is_admin:
        raise forbidden("the management API's admin endpoints need an administrator: sign in to the console as "
                        "one, or send an API key of an administrator's account", code="admin_only")
    if caller.restricted and request.method not in ("GET", "HEAD"):
        authorize(caller, MANAGE)   # refused: a restricted key only reads, an administrator's too
    return caller


# An endpoint parameter `caller: AccountScope` gets the caller, either way, and the account it acts on; any
# role (and any key) may read, only owners and admins (and unrestricted keys) change. The other scopes name
# the action their endpoints need.
AccountScope = Annotated[AccountCaller, Depends(requires(None))]
BillingScope = Annotated[AccountCaller, Depends(requires(BILLING))]   # + billing
KeysScope = Annotated[AccountCaller, Depends(requires(KEYS))]         # + developer
StudioScope = Annotated[AccountCaller, Depends(requires(KEYS, session_only=True))]
ManageScope = Annotated[AccountCaller, Depends(requires(MANAGE))]     # owners and admins only, even to read
OwnerScope = Annotated[AccountCaller, Depends(requires(OWN))]         # owners (their keys too)
ConfirmedOwnerScope = Annotated[AccountCaller, Depends(requires(CONFIRMED))]   # an owner's session, password fresh
