"""Single-use tokens sent by email (password reset, email verification): 256 random bits in the link,
only their SHA-256 in the database, so a copy of the database redeems nothing. Each kind has its own
table of the same columns: token_hash, user_id, created_at, expires_at, used_at."""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.store.dml import changed_rows


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: AsyncSession, table, user_id: str, now: datetime, lifetime: timedelta) -> str:
    """A new token of `table`'s kind for the user; the caller's transaction stores its digest."""
    token = secrets.token_urlsafe(32)
    session.add(table(token_hash=digest(token), user_id=user_id, created_at=now, expires_at=now + lifetime))
    return token


async def usable(session: AsyncSession, table, token: str, now: datetime) -> bool:
    """Whether `redeem` would take it now: a cheap look before costly work (hashing a new password)."""
    found = await session.execute(select(table.user_id).where(table.token_hash == digest(token),
                                                              table.used_at.is_(None), table.expires_at > now))
    return found.first() is not None


async def redeem(session: AsyncSession, table, token: str, now: datetime) -> str | None:
    """Use the token up and return its user id; None when it is unknown, used or expired. The conditional
    UPDATE makes a token good once even when two requests bring it at the same moment."""
    hashed = digest(token)
    claimed = await changed_rows(session, update(table).where(
        table.token_hash == hashed, table.used_at.is_(None), table.expires_at > now).values(used_at=now))
    if claimed != 1:
        return None
    return (await session.execute(select(table.user_id).where(table.token_hash == hashed))).scalar_one()


async def retire_all(session: AsyncSession, table, user_id: str, now: datetime) -> None:
    """Every unused token of the user's of this kind stops working: an older email is no key any more."""
    await session.execute(update(table).where(table.user_id == user_id, table.used_at.is_(None)).values(used_at=now))
