"""Password reset by emailed token: a random single-use token, valid for an hour; only its SHA-256 is
stored, so a copy of the database cannot reset anyone's password (accounts/emailed_tokens.py)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts import emailed_tokens, sessions, studio_keys
from alltoken.ids import utcnow
from alltoken.store.models import Account, PasswordResetToken, User

LIFETIME = timedelta(hours=1)


class InvalidToken(Exception):
    """Unknown, used, expired, or its user gone: the same answer for each, it tells an attacker nothing."""


@dataclass(frozen=True, slots=True)
class Reset:
    user_id: str
    account_id: str
    sessions_ended: int
    studio_keys_revoked: list[str]


async def issue(session: AsyncSession, email: str, now: datetime | None = None) -> tuple[User, str] | None:
    """A new token for the user with this (normalized) email, or None when there is no such user
    (or their account is deleted)."""
    user = (await session.execute(
        select(User).join(Account, Account.id == User.account_id)
        .where(User.email == email, Account.status != "deleted"))).scalar_one_or_none()
    if user is None:
        return None
    return user, emailed_tokens.issue(session, PasswordResetToken, user.id, now or utcnow(), LIFETIME)


async def usable(session: AsyncSession, token: str) -> bool:
    return await emailed_tokens.usable(session, PasswordResetToken, token, utcnow())


async def redeem(session: AsyncSession, token: str, new_password_hash: str, now: datetime | None = None) -> Reset:
    """Set the password of the token's user (hashed by the caller, outside the transaction), end every
    session of theirs, revoke their Studio keys, and use the token up."""
    now = now or utcnow()
    user_id = await emailed_tokens.redeem(session, PasswordResetToken, token, now)
    if user_id is None:
        raise InvalidToken()
    user = await session.get_one(User, user_id)
    account = await session.get(Account, user.account_id)
    if account is None or account.status == "deleted":
        raise InvalidToken()
    user.password_hash = new_password_hash
    # Every other reset link of the user dies with this one: an older email is no key to the account.
    await emailed_tokens.retire_all(session, PasswordResetToken, user_id, now)
    ended = await sessions.close_all(session, user_id)
    # Whoever knew the old password may hold a Studio key made with it: it goes with the sessions.
    revoked = await studio_keys.revoke_for_user(session, user_id)
    return Reset(user_id, user.account_id, ended, revoked)


def reset_email(link: str) -> tuple[str, str]:
    """The subject and plain-text body of the email: the link, and what to do if it was not you."""
    minutes = int(LIFETIME.total_seconds() // 60)
    return ("Reset your AllToken password",
            "Someone (we hope you) asked to reset the password of your AllToken console sign-in.\n\n"
            f"Choose a new password here (the link works once, for {minutes} minutes):\n\n{link}\n\n"
            "If it was not you, ignore this email: your password stays as it is.\n")
