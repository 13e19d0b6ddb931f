"""Email verification: where the server asks for it (`sign_up.email_verification`, on by default when
SMTP is configured), a new user follows an emailed link before their account makes API keys, so sign-ups
with made-up addresses get nothing that spends. The link holds a single-use token valid for LIFETIME;
only its SHA-256 is stored (emailed_tokens.py)."""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts import emailed_tokens
from alltoken.ids import utcnow
from alltoken.store.models import EmailVerificationToken, User

LIFETIME = timedelta(hours=24)


class InvalidToken(Exception):
    """Unknown, used or expired: one answer for each."""


def issue(session: AsyncSession, user_id: str, now: datetime | None = None) -> str:
    return emailed_tokens.issue(session, EmailVerificationToken, user_id, now or utcnow(), LIFETIME)


async def confirm(session: AsyncSession, token: str, now: datetime | None = None) -> str:
    """Mark the token's user verified and use the token up (with every other of theirs); their user id."""
    now = now or utcnow()
    user_id = await emailed_tokens.redeem(session, EmailVerificationToken, token, now)
    if user_id is None:
        raise InvalidToken()
    user = await session.get_one(User, user_id)
    user.email_verified_at = user.email_verified_at or now
    await emailed_tokens.retire_all(session, EmailVerificationToken, user_id, now)
    return user_id


def verification_email(link: str) -> tuple[str, str]:
    """The subject and plain-text body: the link, and what to do if it was not you."""
    hours = int(LIFETIME.total_seconds() // 3600)
    return ("Verify your AllToken email address",
            "Someone (we hope you) signed up for AllToken with this address.\n\n"
            f"Confirm it here to create API keys (the link works once, for {hours} hours):\n\n{link}\n\n"
            "If it was not you, ignore this email: nothing is done with this address.\n")
