"""Invitations to join a team, sent by email: a random single-use token in the link, its SHA-256 here.

An invitation carries the role and the optional spending limit the member will have. It is accepted
by a signed-in user whose email is the invited one (case does not matter), once, within its lifetime.
Inviting the same address again replaces the pending invitation (a fresh link).
"""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts.roles import check_role
from alltoken.accounts.service import normalized_email, parse_limit
from alltoken.accounts.teams import check_owner_power, get_team
from alltoken.errors import Conflict, NotFound
from alltoken.ids import new_id, utcnow
from alltoken.store.models import TeamInvitation, TeamMember, User

LIFETIME = timedelta(days=7)


class InvitationUnusable(Exception):
    """The invitation was used, cancelled or has expired."""


class WrongInvitee(Exception):
    """The signed-in user is not the invited address."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def invite(session: AsyncSession, account_id: str, email: str, role: str, limit_usd: str | None,
                 limit_reset: str | None, *, invited_by: str, acting_role: str | None) -> tuple[TeamInvitation, str]:
    """A new invitation and its token (shown once: it goes into the emailed link)."""
    await get_team(session, account_id)
    check_owner_power(acting_role, check_role(role))
    email = normalized_email(email)
    limit_units, limit_reset = parse_limit(limit_usd, limit_reset, "member")
    already = await session.execute(select(TeamMember.user_id).join(User, User.id == TeamMember.user_id)
                                    .where(TeamMember.account_id == account_id, User.email == email))
    if already.first():
        raise Conflict(f"{email} is already a member of {account_id}")
    now = utcnow()
    await session.execute(update(TeamInvitation).where(*_pending(now), TeamInvitation.account_id == account_id,
                                                       TeamInvitation.email == email).values(cancelled_at=now))
    token = secrets.token_urlsafe(32)
    row = TeamInvitation(id=new_id("inv_", 8), account_id=account_id, email=email, role=role,
                         limit_units=limit_units, limit_reset=limit_reset, token_hash=_digest(token),
                         invited_by=invited_by, created_at=now, expires_at=now + LIFETIME)
    session.add(row)
    await session.flush()
    return row, token


async def pending(session: AsyncSession, account_id: str) -> list[TeamInvitation]:
    return list(await session.scalars(select(TeamInvitation)
                                      .where(*_pending(utcnow()), TeamInvitation.account_id == account_id)
                                      .order_by(TeamInvitation.created_at, TeamInvitation.id)))


async def cancel(session: AsyncSession, account_id: str, invitation_id: str) -> TeamInvitation:
    """Another team's invitation is as good as missing."""
    row = await session.get(TeamInvitation, invitation_id)
    if row is None or row.account_id != account_id or row.cancelled_at or row.accepted_at:
        raise NotFound(f"no pending invitation {invitation_id}")
    row.cancelled_at = utcnow()
    return row


async def by_token(session: AsyncSession, token: str) -> TeamInvitation:
    """The usable invitation behind the token."""
    row = (await session.execute(select(TeamInvitation).where(TeamInvitation.token_hash == _digest(token))
                                 .with_for_update())).scalar_one_or_none()
    if row is None:
        raise NotFound("no such invitation: check the link, or ask the team for a new one")
    if row.accepted_at is not None:
        raise InvitationUnusable("this invitation was already used")
    if row.cancelled_at is not None:
        raise InvitationUnusable("this invitation was cancelled: ask the team for a new one")
    if row.expires_at <= utcnow():
        raise InvitationUnusable("this invitation has expired: ask the team for a new one")
    return row


async def accept(session: AsyncSession, token: str, user: User) -> tuple[TeamInvitation, TeamMember]:
    """The user joins the team with the invitation's role and limit; the token works no more."""
    row = await by_token(session, token)
    if normalized_email(user.email) != row.email:
        raise WrongInvitee(f"this invitation is for {row.email}, and you are signed in as {user.email}: "
                           "sign in with the invited address")
    await get_team(session, row.account_id)
    if await session.get(TeamMember, (row.account_id, user.id)) is not None:
        raise Conflict(f"you are already a member of {row.account_id}")
    now = utcnow()
    joined = TeamMember(account_id=row.account_id, user_id=user.id, role=row.role, limit_units=row.limit_units,
                        limit_reset=row.limit_reset, created_at=now)
    session.add(joined)
    row.accepted_at, row.accepted_by = now, user.id
    await session.flush()
    return row, joined


def _pending(now):
    return (TeamInvitation.accepted_at.is_(None), TeamInvitation.cancelled_at.is_(None),
            TeamInvitation.expires_at > now)
