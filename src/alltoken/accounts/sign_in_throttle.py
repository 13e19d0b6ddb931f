"""Sign-in throttling, shared by every process through the database: too many failures for one
email, or from one address, in a window make further attempts wait (429 with Retry-After)."""

import hashlib
import math
from datetime import timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..ids import utcnow
from ..store.models import SignInFailure

WINDOW = timedelta(minutes=15)
PER_EMAIL = 5         # then that email waits, whoever tries it (guessing one password)
PER_ADDRESS = 30      # then that address waits, whatever email it tries (guessing many accounts)


def subjects(email: str, address: str | None, purpose: str = "") -> list[tuple[str, int]]:
    """What is counted. `purpose` ("reset:" for password-reset emails) counts those apart from sign-ins, so
    asking for reset emails does not lock anyone out of signing in."""
    found = [(f"{purpose}email:" + hashlib.sha256(email.encode()).hexdigest(), PER_EMAIL)]
    if address:
        found.append((f"{purpose}ip:{address}", PER_ADDRESS))
    return found


async def seconds_to_wait(session: AsyncSession, email: str, address: str | None, purpose: str = "") -> int:
    """0 if a sign-in may be tried now, else whole seconds until the oldest counted failure ages out."""
    since = utcnow() - WINDOW
    wait = 0
    for subject, allowed in subjects(email, address, purpose):
        count, oldest = (await session.execute(
            select(func.count(), func.min(SignInFailure.at))
            .where(SignInFailure.subject == subject, SignInFailure.at > since))).one()
        if count >= allowed:
            wait = max(wait, math.ceil((oldest - since).total_seconds()))
    return wait


async def record_failure(session: AsyncSession, email: str, address: str | None, purpose: str = "") -> None:
    now = utcnow()
    await session.execute(insert(SignInFailure),
                          [{"subject": s, "at": now} for s, _ in subjects(email, address, purpose)])
    await session.execute(delete(SignInFailure).where(SignInFailure.at <= now - WINDOW))


async def forget_failures(session: AsyncSession, email: str) -> None:
    """A successful sign-in clears that email's count (not the address's)."""
    subject = subjects(email, None)[0][0]
    await session.execute(delete(SignInFailure).where(SignInFailure.subject == subject))
