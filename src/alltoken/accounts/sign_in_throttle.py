"""Sign-in throttling, shared by every process through the database: at most PER_EMAIL attempts for one
email, and PER_ADDRESS from one address, in a window of WINDOW that starts with the first of them; further
attempts wait (429 with Retry-After).

An attempt is counted before its password is checked, by one conditional upsert per subject: the count
goes up only while it is under the limit, and the statement says whether it did. However many attempts
arrive at once, exactly the limit reach the password check (counted after the check, 30 at once got 19
checked against a limit of 5). A sign-in that succeeds clears its email's count and gives its address's
attempt back, so only failures hold anyone up."""

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..ids import utcnow
from ..store.models import SignInCount

WINDOW = timedelta(minutes=15)
PER_EMAIL = 5         # then that email waits, whoever tries it (guessing one password)
PER_ADDRESS = 30      # then that address waits, whatever email it tries (guessing many accounts)

_counts = SignInCount.__table__


class Throttled(Exception):
    def __init__(self, seconds: int):
        super().__init__(f"throttled for {seconds} s")
        self.seconds = seconds


def subjects(email: str, address: str | None, purpose: str = "") -> list[tuple[str, int]]:
    """What is counted. `purpose` ("reset:" for password-reset emails) counts those apart from sign-ins, so
    asking for reset emails does not lock anyone out of signing in."""
    found = [(f"{purpose}email:" + hashlib.sha256(email.encode()).hexdigest(), PER_EMAIL)]
    if address:
        found.append((f"{purpose}ip:{address}", PER_ADDRESS))
    return found


async def count_attempt(session: AsyncSession, email: str, address: str | None, purpose: str = "") -> None:
    """Count an attempt for the email and the address, or raise Throttled. Raised inside the caller's
    transaction, it rolls back what was counted: a refused attempt counts for nothing."""
    now = utcnow()
    for subject, allowed in subjects(email, address, purpose):
        if not await _counted(session, subject, allowed, now):
            raise Throttled(await _seconds_left(session, subject))
    await _forget_expired(session, now)


async def give_back(session: AsyncSession, email: str, address: str | None, purpose: str = "") -> None:
    """Un-count an attempt whose password was never checked (the server was too busy to)."""
    await _uncount(session, [subject for subject, _ in subjects(email, address, purpose)])


async def succeeded(session: AsyncSession, email: str, address: str | None) -> None:
    """A successful sign-in clears that email's count and gives the address its attempt back."""
    (email_subject, _), *address_subjects = subjects(email, address)
    await session.execute(delete(SignInCount).where(SignInCount.subject == email_subject))
    await _uncount(session, [subject for subject, _ in address_subjects])


async def _counted(session: AsyncSession, subject: str, allowed: int, now: datetime) -> bool:
    """One statement: a new window, or one more attempt in the current one while it is under `allowed`."""
    expired = _counts.c.window_start <= now - WINDOW
    upsert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    statement = (upsert(_counts).values(subject=subject, window_start=now, attempts=1)
                 .on_conflict_do_update(
                     index_elements=[_counts.c.subject],
                     set_={"attempts": case((expired, 1), else_=_counts.c.attempts + 1),
                           "window_start": case((expired, literal(now, _counts.c.window_start.type)),
                                                else_=_counts.c.window_start)},
                     where=expired | (_counts.c.attempts < allowed))
                 .returning(_counts.c.attempts))
    return (await session.execute(statement)).first() is not None


async def _seconds_left(session: AsyncSession, subject: str) -> int:
    """Until the window ends, from now (another attempt, waited on, may have started it after ours began)."""
    started = (await session.execute(select(SignInCount.window_start)
                                     .where(SignInCount.subject == subject))).scalar_one()
    return max(1, math.ceil((started + WINDOW - utcnow()).total_seconds()))


async def _uncount(session: AsyncSession, counted: list[str]) -> None:
    # One row per statement, emails before addresses, as everywhere here: transactions that lock rows in
    # the same order cannot deadlock one another (PostgreSQL).
    for subject in counted:
        await session.execute(update(SignInCount).where(SignInCount.subject == subject, SignInCount.attempts > 0)
                              .values(attempts=SignInCount.attempts - 1))


async def _forget_expired(session: AsyncSession, now: datetime) -> None:
    """Delete counts whose window has passed; on PostgreSQL only those no other attempt holds right now
    (SKIP LOCKED), so the clean-up never waits on, or deadlocks with, a sign-in."""
    stale = select(SignInCount.subject).where(SignInCount.window_start <= now - WINDOW)
    if session.bind.dialect.name == "postgresql":
        stale = stale.with_for_update(skip_locked=True)
    await session.execute(delete(SignInCount).where(SignInCount.subject.in_(stale)))
