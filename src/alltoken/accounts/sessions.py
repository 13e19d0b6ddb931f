"""Console sessions: a random token in an httpOnly cookie, its SHA-256 in the database.

Each session carries its own CSRF token, which the console echoes in a header on every request
that changes something; a cross-site form cannot read it, so it cannot forge one.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.ids import utcnow
from alltoken.store.dml import changed_rows
from alltoken.store.models import TeamMember, User, UserSession

LIFETIME = timedelta(days=14)
_TOUCH_EVERY = timedelta(minutes=5)      # last_seen_at is written at most this often
REAUTHENTICATION_LASTS = timedelta(minutes=10)   # a confirmed password opens CONFIRMED actions this long


@dataclass(frozen=True, slots=True)
class SignedIn:
    user_id: str
    account_id: str
    email: str
    is_admin: bool
    csrf_token: str
    expires_at: datetime
    role: str | None = None    # in the account acted on: owner of one's own; None: no longer a member of it
    in_team: bool = False      # the account acted on is a team the user is a member of
    email_verified: bool = True
    reauthenticated_at: datetime | None = None   # when the user last confirmed their password in this session

    def recently_confirmed(self, now: datetime) -> bool:
        return self.reauthenticated_at is not None and now - self.reauthenticated_at < REAUTHENTICATION_LASTS


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(session: AsyncSession, user: User, account_id: str | None = None) -> tuple[str, str]:
    """A new session for `user` acting on `account_id` (their own account by default): (token, csrf token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = utcnow()
    session.add(UserSession(token_hash=_digest(token), user_id=user.id, account_id=account_id or user.account_id,
                            csrf_token=csrf, created_at=now, last_seen_at=now, expires_at=now + LIFETIME))
    return token, csrf


async def find(session: AsyncSession, token: str) -> SignedIn | None:
    row = (await session.execute(
        select(UserSession, User, TeamMember.role).join(User, User.id == UserSession.user_id)
        .outerjoin(TeamMember, (TeamMember.account_id == UserSession.account_id)
                   & (TeamMember.user_id == UserSession.user_id))
        .where(UserSession.token_hash == _digest(token)))).first()
    if row is None:
        return None
    record, user, member_role = row
    now = utcnow()
    if record.revoked_at is not None or record.expires_at <= now:
        return None
    if now - record.last_seen_at >= _TOUCH_EVERY:
        record.last_seen_at = now
    role = "owner" if record.account_id == user.account_id else member_role
    return SignedIn(user.id, record.account_id, user.email, user.is_admin, record.csrf_token, record.expires_at, role,
                    in_team=member_role is not None, reauthenticated_at=record.reauthenticated_at,
                    email_verified=user.email_verified_at is not None)


async def switch_account(session: AsyncSession, token: str, account_id: str) -> None:
    """Act on `account_id` from now on (the caller checked the user may)."""
    await session.execute(update(UserSession).where(UserSession.token_hash == _digest(token))
                          .values(account_id=account_id))


async def mark_reauthenticated(session: AsyncSession, token: str, now: datetime) -> None:
    """The session's user confirmed their password at `now` (the caller checked it)."""
    await session.execute(update(UserSession).where(UserSession.token_hash == _digest(token))
                          .values(reauthenticated_at=now))


def csrf_matches(signed_in: SignedIn, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(signed_in.csrf_token, presented)


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(update(UserSession).where(UserSession.token_hash == _digest(token),
                                                    UserSession.revoked_at.is_(None)).values(revoked_at=utcnow()))


async def close_all(session: AsyncSession, user_id: str, keep_token: str | None = None) -> int:
    """Sign the user out everywhere (but the session `keep_token`, when changing a password)."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if keep_token is not None:
        query = query.where(UserSession.token_hash != _digest(keep_token))
    return await changed_rows(session, query.values(revoked_at=utcnow()))
