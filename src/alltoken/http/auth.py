"""Who is calling: API key from the Authorization header, checked against the cache."""

from starlette.requests import Request

from alltoken.accounts import keys
from alltoken.accounts.cache import AccountRecord, AuthCache, KeyRecord
from alltoken.accounts.networks import allows
from alltoken.http.client_address import client_address
from alltoken.http.errors import forbidden, unauthorized
from alltoken.ids import utcnow
from alltoken.runtime.exchange import Caller


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
    secret_hash = keys.hash_key(token)
    found = await cache.lookup(secret_hash)
    if found is None:
        raise unauthorized("invalid API key")
    key, account = found
    check_account(account, allow_billing_hold)   # first: a terminated account's keys are revoked; the 403 says why
    address = client_address(request)
    _check_key(key, secret_hash, address)
    terms = getattr(request.app.state, "terms", None)  # set on the data plane's app only: the management API
    if terms is not None:                              # stays open to accept terms, export or delete an account
        terms.check(account, request.scope)
    cache.uses.note(key.id, address)
    return Caller(key, account)


def _check_key(key: KeyRecord, secret_hash: str, address: str | None) -> None:
    if key.revoked:
        raise unauthorized("this API key was revoked; create a new one")
    now = utcnow()
    retired_until = key.retired_until
    if secret_hash == key.retired_hash and retired_until is not None and retired_until <= now:
        raise unauthorized(f"this API key was rotated and its old secret stopped working at "
                           f"{retired_until.isoformat()}; use the new secret")
    if key.expires_at is not None and key.expires_at <= now:
        raise unauthorized(f"this API key expired at {key.expires_at.isoformat()}; create a new one")
    if key.networks is not None and not allows(key.networks, address):
        raise forbidden(f"this API key may not be used from {address or 'an unknown address'}: it is not in the "
                        "key's IP allow-list", code="ip_not_allowed")


def check_account(account: AccountRecord, allow_billing_hold: bool = False) -> None:
    if account.status == "deleted":
        raise unauthorized("this API key was revoked: its account was deleted")
    if account.status in ("active", "warned", "rate_limited"):
        if account.billing_hold is not None and not allow_billing_hold:  # an admin's suspension wins over it
            raise forbidden(f"API access is suspended: {account.billing_hold.rstrip('.')}. To restore it, top up "
                            "by card (POST /api/billing/checkout): access returns once a payment succeeds and leaves "
                            "the balance at 0 USD or more.", code="billing_suspended")
        return
    reason = f": {account.status_reason}" if account.status_reason else ""
    if account.status == "suspended":
        raise forbidden(f"this account is suspended{reason}. Its API keys are refused until the suspension is "
                        "lifted; contact support to appeal or to have it restored.", code="account_suspended")
    if account.status == "terminated":
        raise forbidden(f"this account was terminated{reason}. Termination is final: its API keys are revoked and "
                        "it cannot be restored. Contact support if you believe this is a mistake.",
                        code="account_terminated")
    raise forbidden(f"this account is {account.status}{reason}", code=f"account_{account.status}")
