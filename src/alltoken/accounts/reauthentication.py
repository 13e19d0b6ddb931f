"""Confirming a signed-in user's password again, for the actions that need it fresh (accounts/roles.py,
CONFIRMED). A wrong password counts as a failed sign-in for that email and address, under the same throttle,
so a stolen session is no way to guess the password."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ..ids import utcnow
from ..store.models import User
from . import passwords, sessions, sign_in_throttle


class Throttled(Exception):
    def __init__(self, seconds: int):
        super().__init__(f"too many failed sign-ins; try again in {seconds} s")
        self.seconds = seconds


def password_matches(user: User, password: str) -> bool:
    """The one password check here."""
    return passwords.verify(user.password_hash, password)


async def confirm(session: AsyncSession, token: str, user: User, password: str, address: str | None
                  ) -> datetime | None:
    """When the session's user confirmed their password (now), or None for a wrong one: the failure is
    recorded in `session`, so commit it before refusing."""
    wait = await sign_in_throttle.seconds_to_wait(session, user.email, address)
    if wait:
        raise Throttled(wait)
    if not password_matches(user, password):
        await sign_in_throttle.record_failure(session, user.email, address)
        return None
    await sign_in_throttle.forget_failures(session, user.email)
    now = utcnow()
    await sessions.mark_reauthenticated(session, token, now)
    return now
