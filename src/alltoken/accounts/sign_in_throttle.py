"""Sign-in throttling, shared by every process through the database: at most PER_EMAIL attempts for one
email, and PER_ADDRESS from one address, in a window of WINDOW that starts with the first of them; further
attempts wait (429 with Retry-After).

An attempt is counted before its password is checked, by one conditional upsert per subject: the count
goes up only while it is under the limit, and the statement says whether it did. However many attempts
arrive at once, exactly the limit reach the password check (counted after the check, 30 at once got 19
checked against a limit of 5). A sign-in that succeeds clears its email's count and gives its address's
attempt back, so only failures hold anyone up.

Refusals are cheap, since a flood of them must not slow anything else: a subject this process has seen
full is refused from memory until its window ends (no database at all), and one another process filled
is refused after a plain read (no write lock). Only attempts that may fit reach the upsert."""

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.ids import utcnow
from alltoken.store.models import SignInCount

WINDOW = timedelta(minutes=15)
PER_EMAIL = 5         # then that email waits, whoever tries it (guessing one password)
PER_ADDRESS = 30      # then that address waits, whatever email it tries (guessing many accounts)

_counts = SignInCount.__table__
_MAX_REMEMBERED = 100_000     # full subjects remembered per process; past it, the expired are forgotten


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
    counted = subjects(email, address, purpose)
    _full.refuse_if_full([subject for subject, _ in counted], now)
    await _refuse_if_full(session, counted, now)
    for subject, allowed in counted:
        if not await _counted(session, subject, allowed, now):
            _full.refuse(subject, await _window_end(session, subject))
    await _forget_expired(session, now)


async def give_back(session: AsyncSession, email: str, address: str | None, purpose: str = "") -> None:
    """Un-count an attempt whose password was never checked (the server was too busy to)."""
    counted = [subject for subject, _ in subjects(email, address, purpose)]
    _full.forget(counted)
    await _uncount(session, counted)


async def succeeded(session: AsyncSession, email: str, address: str | None) -> None:
    """A successful sign-in clears that email's count and gives the address its attempt back."""
    (email_subject, _), *address_subjects = subjects(email, address)
    _full.forget([email_subject, *(subject for subject, _ in address_subjects)])
    await session.execute(delete(SignInCount).where(SignInCount.subject == email_subject))
    await _uncount(session, [subject for subject, _ in address_subjects])


class _FullWindows:
    """Subjects this process saw at their limit, and when their windows end: refused from memory till then.
    A success or a give-back here forgets its subjects (elsewhere, the window ends as it would have)."""

    def __init__(self):
        self._until: dict[str, datetime] = {}

    def refuse_if_full(self, subjects_: list[str], now: datetime) -> None:
        for subject in subjects_:
            until = self._until.get(subject)
            if until is not None and until > now:
                raise _throttled_until(until)

    def refuse(self, subject: str, until: datetime) -> None:
        """Remember the subject full until `until`, and raise Throttled."""
        if len(self._until) >= _MAX_REMEMBERED:
            now = utcnow()
            self._until = {key: end for key, end in self._until.items() if end > now}
            if len(self._until) >= _MAX_REMEMBERED:
                self._until.clear()
        self._until[subject] = until
        raise _throttled_until(until)

    def forget(self, subjects_: list[str]) -> None:
        for subject in subjects_:
            self._until.pop(subject, None)


_full = _FullWindows()


async def _refuse_if_full(session: AsyncSession, counted: list[tuple[str, int]], now: datetime) -> None:
    """Raise Throttled if a subject's window is full already, as far as a read can tell (the upsert decides)."""
    limits = dict(counted)
    rows = await session.execute(select(SignInCount.subject, SignInCount.attempts, SignInCount.window_start)
                                 .where(SignInCount.subject.in_(limits), SignInCount.window_start > now - WINDOW))
    for subject, attempts, started in rows:
        if attempts >= limits[subject]:
            _full.refuse(subject, started + WINDOW)


def _throttled_until(until: datetime) -> Throttled:
    """Counted from now (another attempt, waited on, may have started the window after ours began)."""
    return Throttled(max(1, math.ceil((until - utcnow()).total_seconds())))


async def _counted(session: AsyncSession, subject: str, allowed: int, now: datetime) -> bool:
    """One statement: a new window, or one more attempt in the current one while it is under `allowed`."""
    expired = _counts.c.window_start <= now - WINDOW
    upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (upsert(_counts).values(subject=subject, window_start=now, attempts=1)
                 .on_conflict_do_update(
                     index_elements=[_counts.c.subject],
                     set_={"attempts": case((expired, 1), else_=_counts.c.attempts + 1),
                           "window_start": case((expired, literal(now, _counts.c.window_start.type)),
                                                else_=_counts.c.window_start)},
                     where=expired | (_counts.c.attempts < allowed))
                 .returning(_counts.c.attempts))
    return (await session.execute(statement)).first() is not None


async def _window_end(session: AsyncSession, subject: str) -> datetime:
    started = (await session.execute(select(SignInCount.window_start)
                                     .where(SignInCount.subject == subject))).scalar_one()
    return started + WINDOW


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
    if session.get_bind().dialect.name == "postgresql":
        stale = stale.with_for_update(skip_locked=True)
    await session.execute(delete(SignInCount).where(SignInCount.subject.in_(stale)))
