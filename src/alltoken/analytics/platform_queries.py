"""Platform analytics for administrators: every account's daily rollups added up, by day and by the
models and providers that carried the most spend. Reads usage_daily only, never raw usage records."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.store.models import UsageDaily


@dataclass(frozen=True, slots=True)
class PlatformDay:
    day: date
    requests: int
    failed_requests: int
    cost_units: int
    active_accounts: int


@dataclass(frozen=True, slots=True)
class Leader:
    name: str
    requests: int
    cost_units: int


async def platform_days(session: AsyncSession, first: date, last: date) -> list[PlatformDay]:
    rows = await session.execute(
        select(UsageDaily.day, func.sum(UsageDaily.requests), func.sum(UsageDaily.failed_requests),
               func.sum(UsageDaily.cost_units), func.count(func.distinct(UsageDaily.account_id)))
        .where(UsageDaily.day >= first, UsageDaily.day <= last).group_by(UsageDaily.day).order_by(UsageDaily.day))
    return [PlatformDay(day, int(requests), int(failed), int(cost), int(accounts))
            for day, requests, failed, cost, accounts in rows]


async def active_accounts(session: AsyncSession, first: date, last: date) -> int:
    """Accounts with at least one request in the range (an account active on several days counts once)."""
    return int(await session.scalar(select(func.count(func.distinct(UsageDaily.account_id)))
                                    .where(UsageDaily.day >= first, UsageDaily.day <= last)) or 0)


async def leaders(session: AsyncSession, first: date, last: date, by: str, limit: int) -> list[Leader]:
    """The models (by='model') or providers (by='provider') with the most spend, then requests."""
    column = {"model": UsageDaily.model, "provider": UsageDaily.provider}[by]
    cost, requests = func.sum(UsageDaily.cost_units), func.sum(UsageDaily.requests)
    rows = await session.execute(
        select(column, requests, cost).where(UsageDaily.day >= first, UsageDaily.day <= last, column != "")
        .group_by(column).order_by(cost.desc(), requests.desc(), column).limit(limit))
    return [Leader(name, int(n), int(units)) for name, n, units in rows]
