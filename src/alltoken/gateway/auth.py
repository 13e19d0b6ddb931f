"""Who is calling: API key from the Authorization header, checked against the cache."""

from dataclasses import dataclass

from starlette.requests import Request

from ..accounts import keys
from ..accounts.cache import AccountRecord, AuthCache, KeyRecord
from ..ids import utcnow
from .errors import ApiError, forbidden, unauthorized


@dataclass(frozen=True, slots=True)
class Caller:
    key: KeyRecord
    account: AccountRecord


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return request.headers.get("x-api-key") or None


async def authenticate(request: Request, cache: AuthCache, *, allow_billing_hold: bool = False) -> Caller:
    """`allow_billing_hold`: for the endpoints an account held for payment needs, to see its balance and pay."""
    token = bearer_token(request)
    if token is None:
        raise unauthorized("missing API key: send the header 'Authorization: Bearer <your AllToken key>'")
    if not keys.is_well_formed(token):
        raise unauthorized("invalid API key: it is not an AllToken key, or it was mistyped")
    found = await cache.lookup(keys.hash_key(token))
    if found is None:
        raise unauthorized("invalid API key")
    key, account = found
    if key.revoked:
        raise unauthorized("this API key was revoked; create a new one")
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise unauthorized(f"this API key expired at {key.expires_at.isoformat()}; create a new one")
    _check_account(account, allow_billing_hold)
    terms = getattr(request.app.state, "terms", None)  # set on the data plane's app only: the management API
    if terms is not None:                              # stays open to accept terms, export or delete an account
        terms.check(account, request.scope)
    return Caller(key, account)


def _check_account(account: AccountRecord, allow_billing_hold: bool = False) -> None:
    if account.status in ("active", "warned", "rate_limited"):
        if account.billing_hold is not None and not allow_billing_hold:  # an admin's suspension wins over it
            raise forbidden(f"API access is suspended: {account.billing_hold.rstrip('.')}. To restore it, top up "
                            "by card (POST /api/billing/checkout): access returns once a payment succeeds and leaves "
                            "the balance at 0 USD or more.", code="billing_suspended")
        return
    reason = f" Reason: {account.status_reason}." if account.status_reason else ""
    if account.status == "suspended":
        raise forbidden(f"this account is suspended.{reason} Contact support to restore access.",
                        code="account_suspended")
    if account.status == "terminated":
        raise forbidden(f"this account was terminated.{reason}", code="account_terminated")
    raise ApiError(403, f"this account is {account.status}.{reason}", type="permission_error",
                   code=f"account_{account.status}")
