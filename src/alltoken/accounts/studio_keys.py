"""The console Studio's keys: the browser calls the data plane (/v1) like any client, so a signed-in
user gets a short-lived API key of the account for it. One live Studio key per user and account: a new
one revokes the previous, and signing out revokes them.

A team member's Studio key carries their user id, so their role and spending limit apply to it as to
any key of theirs; on a personal account it is the account's own key."""

from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts.service import NewKey, create_key
from alltoken.ids import utcnow
from alltoken.store.changes import record_change
from alltoken.store.models import ApiKey, TeamMember, User

NAME = "Studio (console)"
LIFETIME = timedelta(hours=1)


async def key_owner(session: AsyncSession, account_id: str, user_id: str) -> str | None:
    """The user id a Studio key of `account_id` carries: the member's in a team, none on a personal account."""
    return user_id if await session.get(TeamMember, (account_id, user_id)) is not None else None


async def issue(session: AsyncSession, account_id: str, user_id: str) -> tuple[NewKey, list[str]]:
    """A new Studio key for the user on the account, valid for LIFETIME; and the ids of the previous
    ones it replaces (revoked)."""
    owner = await key_owner(session, account_id, user_id)
    replaced = await _revoke(session, (ApiKey.account_id == account_id, _owned_by(owner)))
    new = await create_key(session, account_id, name=NAME, expires_at=utcnow() + LIFETIME, user_id=owner)
    return new, replaced


async def revoke_for_session(session: AsyncSession, account_id: str, user_id: str) -> list[str]:
    """At sign-out: the user's live Studio keys on the account the session acted on."""
    owner = await key_owner(session, account_id, user_id)
    return await _revoke(session, (ApiKey.account_id == account_id, _owned_by(owner)))


async def revoke_for_user(session: AsyncSession, user_id: str) -> list[str]:
    """At sign-out everywhere: the user's live Studio keys on every account (their teams' and their own)."""
    own_account = select(User.account_id).where(User.id == user_id).scalar_subquery()
    return await _revoke(session, (or_(ApiKey.user_id == user_id,
                                       (ApiKey.user_id.is_(None)) & (ApiKey.account_id == own_account)),))


def _owned_by(owner: str | None):
    return ApiKey.user_id.is_(None) if owner is None else ApiKey.user_id == owner


async def _revoke(session: AsyncSession, where: tuple) -> list[str]:
    query = (update(ApiKey).where(ApiKey.name == NAME, ApiKey.revoked_at.is_(None), *where)
             .values(revoked_at=utcnow()).returning(ApiKey.id).execution_options(synchronize_session=False))
    revoked = sorted((await session.execute(query)).scalars())
    for key_id in revoked:
        await record_change(session, "key", key_id)
    return revoked
