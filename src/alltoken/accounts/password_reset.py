"""Password reset by emailed token: a random single-use token, valid for an hour; only its SHA-256 is
stored, so a copy of the database cannot reset anyone's password."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..ids import utcnow
from ..store.models import Account, PasswordResetToken, User
from . import passwords, sessions

LIFETIME = timedelta(hours=1)


class InvalidToken(Exception):
    """Unknown, used, expired, or its user gone: the same answer for each, it tells an attacker nothing."""


@dataclass(frozen=True, slots=True)
class Reset:
    user_id: str
    account_id: str
    sessions_ended: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(session: AsyncSession, email: str, now: datetime | None = None) -> tuple[User, str] | None:
    """A new token for the user with this (normalized) email, or None when there is no such user
    (or their account is deleted)."""
    user = (await session.execute(
        select(User).join(Account, Account.id == User.account_id)
        .where(User.email == email, Account.status != "deleted"))).scalar_one_or_none()
    if user is None:
        return None
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(PasswordResetToken(token_hash=_digest(token), user_id=user.id, created_at=now,
                                   expires_at=now + LIFETIME))
    return user, token


async def redeem(session: AsyncSession, token: str, new_password: str, now: datetime | None = None) -> Reset:
    """Set the password of the token's user, end every session of theirs, and use the token up.
    The conditional UPDATE makes a token good for one reset even when two arrive at once."""
    now = now or utcnow()
    digest = _digest(token)
    claimed = await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.token_hash == digest, PasswordResetToken.used_at.is_(None),
               PasswordResetToken.expires_at > now)
        .values(used_at=now))
    if claimed.rowcount != 1:
        raise InvalidToken()
    user_id = (await session.execute(select(PasswordResetToken.user_id)
                                     .where(PasswordResetToken.token_hash == digest))).scalar_one()
    user = await session.get(User, user_id)
    account = await session.get(Account, user.account_id)
    if account is None or account.status == "deleted":
        raise InvalidToken()
    user.password_hash = passwords.hash_password(new_password)
    # Every other reset link of the user dies with this one: an older email is no key to the account.
    await session.execute(update(PasswordResetToken)
                          .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
                          .values(used_at=now))
    ended = await sessions.close_all(session, user_id)
    return Reset(user_id, user.account_id, ended)


def reset_email(link: str) -> tuple[str, str]:
    """The subject and plain-text body of the email: the link, and what to do if it was not you."""
    minutes = int(LIFETIME.total_seconds() // 60)
    return ("Reset your AllToken password",
            "Someone (we hope you) asked to reset the password of your AllToken console sign-in.\n\n"
            f"Choose a new password here (the link works once, for {minutes} minutes):\n\n{link}\n\n"
            "If it was not you, ignore this email: your password stays as it is.\n")
