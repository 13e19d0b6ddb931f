"""The accounts a user can act in: their personal account (as its owner) and the teams they belong to.

A console session acts in one of them at a time; switching is refused for any other account, which
answers as if it did not exist.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts.service import DELETED_STATUS
from alltoken.errors import NotFound
from alltoken.store.models import Account, TeamMember, User


@dataclass(frozen=True)
class Membership:
    account_id: str
    name: str | None
    kind: str        # personal | team
    role: str


async def memberships(session: AsyncSession, user: User) -> list[Membership]:
    """The personal account first, then the teams by name."""
    own = await session.get_one(Account, user.account_id)
    found = [Membership(own.id, own.name, own.kind, "owner")]
    rows = await session.execute(
        select(Account, TeamMember.role).join(TeamMember, TeamMember.account_id == Account.id)
        .where(TeamMember.user_id == user.id, Account.status != DELETED_STATUS)
        .order_by(Account.name, Account.id))
    return found + [Membership(account.id, account.name, account.kind, role) for account, role in rows]


async def membership(session: AsyncSession, user: User, account_id: str) -> Membership:
    for candidate in await memberships(session, user):
        if candidate.account_id == account_id:
            return candidate
    raise NotFound(f"no account {account_id} among yours")
