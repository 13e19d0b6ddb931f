"""The administrators' view of accounts: search by id, email or name (keyset-paged, newest first), and
one account's facts (its users, key count and spend this month) from indexed columns and the rollups."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.store.keyset import KeysetPosition
from alltoken.store.models import Account, ApiKey, UsageDaily, User


class AccountPosition(KeysetPosition):
    """Where a page of accounts stopped: the (created_at, id) of its last account."""

    ID_PATTERN = r"[A-Za-z0-9_\-]{1,40}"
    ID_TYPE = str


async def search(session: AsyncSession, query: str | None, limit: int,
                 after: AccountPosition | None = None) -> list[Account]:
    """Up to `limit` accounts whose id, email or name contains `query` (any case; every account when empty),
    newest first, strictly after `after`. A user's email finds the account they belong to."""
    statement = select(Account)
    if query:
        pattern = f"%{_escape(query.lower())}%"
        members = select(User.account_id).where(func.lower(User.email).like(pattern, escape="\\"))
        statement = statement.where(or_(func.lower(Account.id).like(pattern, escape="\\"),
                                        func.lower(Account.email).like(pattern, escape="\\"),
                                        func.lower(Account.name).like(pattern, escape="\\"),
                                        Account.id.in_(members)))
    if after is not None:
        statement = statement.where(or_(Account.created_at < after.created_at,
                                        and_(Account.created_at == after.created_at, Account.id < after.id)))
    statement = statement.order_by(Account.created_at.desc(), Account.id.desc()).limit(limit)
    return list(await session.scalars(statement))


def _escape(text: str) -> str:
    """LIKE treats % and _ as wildcards; a search for them means the characters themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class AccountFacts:
    users: list[User]
    keys_active: int
    keys_total: int
    spend_units_this_month: int
    requests_this_month: int


async def facts(session: AsyncSession, account_id: str, now: datetime) -> AccountFacts:
    users = list(await session.scalars(select(User).where(User.account_id == account_id).order_by(User.created_at)))
    total, active = (await session.execute(
        select(func.count(), func.count().filter(ApiKey.revoked_at.is_(None)))
        .where(ApiKey.account_id == account_id))).one()
    spend, requests = (await session.execute(
        select(func.coalesce(func.sum(UsageDaily.cost_units), 0), func.coalesce(func.sum(UsageDaily.requests), 0))
        .where(UsageDaily.account_id == account_id, UsageDaily.day >= date(now.year, now.month, 1)))).one()
    return AccountFacts(users, int(active), int(total), int(spend), int(requests))
