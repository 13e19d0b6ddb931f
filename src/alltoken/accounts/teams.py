"""Teams: an account whose balance its members share. Each member has a role and may have a
spending limit of their own; a member spends through keys that carry their user id.

Changes that running servers must see (a limit, a role, a removal) write a `key` change event for
each of the member's live keys in the team, so every process reloads those keys within a second.
"""

import secrets
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts.roles import check_role, may_act_on
from alltoken.accounts.service import create_account, get_account, parse_limit
from alltoken.accounts.users import user_by_email
from alltoken.errors import Conflict, NotFound
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_str
from alltoken.store.changes import record_change
from alltoken.store.models import Account, ApiKey, TeamMember, UsageRecord, User


class NotAllowed(Exception):
    """The acting member's role does not allow this change."""


async def create_team(session: AsyncSession, name: str, owner_email: str,
                      email: str | None = None) -> tuple[Account, TeamMember]:
    """A team account owned by an existing user. Its contact email defaults to the owner's address
    tagged `+team-...` (accounts' emails are unique; most mail providers deliver it to the owner)."""
    if not name.strip():
        raise ValueError("a team needs a name")
    owner = await user_by_email(session, owner_email)
    account = await create_account(session, email or _tagged(owner.email), name=name.strip(), kind="team")
    await session.flush()
    member = TeamMember(account_id=account.id, user_id=owner.id, role="owner", created_at=utcnow())
    session.add(member)
    await session.flush()
    return account, member


async def get_team(session: AsyncSession, account_id: str) -> Account:
    account = await get_account(session, account_id)
    if account.kind != "team":
        raise NotFound(f"{account_id} is a personal account, not a team")
    return account


async def members(session: AsyncSession, account_id: str) -> list[tuple[TeamMember, User]]:
    rows = await session.execute(select(TeamMember, User).join(User, User.id == TeamMember.user_id)
                                 .where(TeamMember.account_id == account_id)
                                 .order_by(TeamMember.created_at, TeamMember.user_id))
    return [(member, user) for member, user in rows]


async def member(session: AsyncSession, account_id: str, user_id: str) -> TeamMember:
    found = await session.get(TeamMember, (account_id, user_id))
    if found is None:
        raise NotFound(f"user {user_id} is not a member of {account_id}")
    return found


async def add_member(session: AsyncSession, account_id: str, email: str, role: str, limit_usd: str | None = None,
                     limit_reset: str | None = None) -> tuple[TeamMember, User]:
    """The operator adds an existing user directly (CLI). Through the API people join only by accepting an
    invitation (invitations.py): no one is put in a team without consenting."""
    await get_team(session, account_id)
    check_role(role)
    limit_units, limit_reset = parse_limit(limit_usd, limit_reset, "member")
    user = await user_by_email(session, email)
    if await session.get(TeamMember, (account_id, user.id)) is not None:
        raise Conflict(f"{user.email} is already a member of {account_id}")
    added = TeamMember(account_id=account_id, user_id=user.id, role=role, limit_units=limit_units,
                       limit_reset=limit_reset, created_at=utcnow())
    session.add(added)
    await session.flush()
    return added, user


async def update_member(session: AsyncSession, account_id: str, user_id: str, changes: dict, *,
                        acting_role: str | None = None) -> TeamMember:
    """Apply `changes` (any of role, limit_usd, limit_reset; limit_usd None removes the limit)."""
    await get_team(session, account_id)
    changed = await member(session, account_id, user_id)
    role = check_role(changes["role"]) if "role" in changes else changed.role
    check_owner_power(acting_role, changed.role, role)
    if role != "owner":
        await _keep_an_owner(session, changed)
    changed.role = role
    if "limit_usd" in changes or "limit_reset" in changes:
        limit_usd = changes["limit_usd"] if "limit_usd" in changes else _usd(changed.limit_units)
        reset = changes.get("limit_reset", changed.limit_reset if limit_usd is not None else None)
        changed.limit_units, changed.limit_reset = parse_limit(limit_usd, reset, "member")
    await _announce(session, account_id, user_id)
    return changed


async def remove_member(session: AsyncSession, account_id: str, user_id: str, *,
                        acting_role: str | None = None) -> list[str]:
    """Remove the member and revoke their keys in this team; returns the revoked key ids."""
    await get_team(session, account_id)
    removed = await member(session, account_id, user_id)
    check_owner_power(acting_role, removed.role)
    await _keep_an_owner(session, removed)
    revoked = list((await session.execute(_live_keys(account_id, user_id))).scalars())
    await session.execute(update(ApiKey).where(ApiKey.id.in_(revoked)).values(revoked_at=utcnow()))
    for key_id in revoked:
        await record_change(session, "key", key_id)
    await session.delete(removed)
    return revoked


async def member_spent_since(session: AsyncSession, account_id: str, user_id: str, since: datetime) -> int:
    """What the member's keys spent in the team from `since` on, from the usage records."""
    total = await session.execute(select(func.coalesce(func.sum(UsageRecord.cost_units), 0)).where(
        UsageRecord.user_id == user_id, UsageRecord.account_id == account_id, UsageRecord.created_at >= since))
    return int(total.scalar_one())


def check_owner_power(acting_role: str | None, *roles: str) -> None:
    """No member acts on, or makes, a member above them (accounts/roles.py)."""
    if not may_act_on(acting_role, *roles):
        raise NotAllowed("only a team owner may make, change or remove an owner")


async def _keep_an_owner(session: AsyncSession, leaving: TeamMember) -> None:
    if leaving.role != "owner":
        return
    owners = await session.execute(select(func.count()).select_from(TeamMember).where(
        TeamMember.account_id == leaving.account_id, TeamMember.role == "owner"))
    if owners.scalar_one() <= 1:
        raise Conflict("a team needs an owner: make another member owner first")


async def _announce(session: AsyncSession, account_id: str, user_id: str) -> None:
    """Running servers reload the member's keys, and with them the member's role and limit."""
    for key_id in (await session.execute(_live_keys(account_id, user_id))).scalars():
        await record_change(session, "key", key_id)


def _live_keys(account_id: str, user_id: str):
    return select(ApiKey.id).where(ApiKey.account_id == account_id, ApiKey.user_id == user_id,
                                   ApiKey.revoked_at.is_(None))


def _usd(units: int | None) -> str | None:
    return None if units is None else units_to_usd_str(units)


def _tagged(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local}+team-{secrets.token_hex(4)}@{domain}"
