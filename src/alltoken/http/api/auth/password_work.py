"""Password hashing and checking for the management API's request paths: the worker pool of
accounts/passwords.py, its refusal (Busy) as a 429, and the sign-in throttle's refusal as one."""

from contextlib import contextmanager

from alltoken.accounts import passwords, sign_in_throttle
from alltoken.http.errors import ApiError


def busy() -> ApiError:
    return ApiError(429, "the server is busy checking passwords; try again in a moment", type="rate_limit_error",
                    code="server_busy", headers={"retry-after": str(passwords.BUSY_RETRY_SECONDS)})


async def hashed(password: str) -> str:
    try:
        return await passwords.hash_off_loop(password)
    except passwords.Busy:
        raise busy() from None


async def verified(password_hash: str | None, password: str) -> bool:
    try:
        return await passwords.verify_off_loop(password_hash, password)
    except passwords.Busy:
        raise busy() from None


@contextmanager
def throttle_refusal(what: str, code: str):
    """sign_in_throttle.Throttled as `429 <code>` with Retry-After; `what`: "too many failed sign-ins"."""
    try:
        yield
    except sign_in_throttle.Throttled as refused:
        raise ApiError(429, f"{what}; try again in {refused.seconds} s", type="rate_limit_error", code=code,
                       headers={"retry-after": str(refused.seconds)}) from None


async def checked_or_given_back(sessions, password_hash: str | None, password: str, email: str,
                                address: str | None) -> bool:
    """Whether the password matches, for an attempt the sign-in throttle has counted. When the server is too
    busy to check, the attempt did not happen: it is given back (a 429 for a busy server locks no one out)."""
    try:
        return await passwords.verify_off_loop(password_hash, password)
    except passwords.Busy:
        async with sessions.begin() as session:
            await sign_in_throttle.give_back(session, email, address)
        raise busy() from None
