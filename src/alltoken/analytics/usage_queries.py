"""The usage pages' reads: summaries from the daily rollups, generations from usage records by
keyset (newest first on the (account_id, created_at) index; never OFFSET)."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.store.keyset import KeysetPosition
from alltoken.store.models import UsageDaily, UsageRecord

MAX_RANGE_DAYS = 366
GROUPS = {"day": UsageDaily.day, "model": UsageDaily.model, "provider": UsageDaily.provider,
          "key": UsageDaily.key_id}


@dataclass(frozen=True, slots=True)
class Totals:
    requests: int = 0
    failed_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_units: int = 0
    latency_ms_sum: int = 0


@dataclass(frozen=True, slots=True)
class Summary:
    totals: Totals
    groups: list[tuple[str, Totals]]   # (group value, its totals), in the group's natural order


_SUMS = [func.sum(getattr(UsageDaily, name)) for name in Totals.__slots__]


async def usage_summary(session: AsyncSession, account_id: str, first: date, last: date, group: str) -> Summary:
    """Counters of the account's days first..last (inclusive), per `group` value."""
    column = GROUPS[group]
    rows = await session.execute(
        select(column, *_SUMS).where(UsageDaily.account_id == account_id, UsageDaily.day >= first,
                                     UsageDaily.day <= last)
        .group_by(column).order_by(column))
    groups = [(value.isoformat() if isinstance(value, date) else value, Totals(*(int(s) for s in sums)))
              for value, *sums in rows]
    totals = Totals(*(sum(getattr(t, name) for _, t in groups) for name in Totals.__slots__))
    return Summary(totals, groups)


class Position(KeysetPosition):
    """Where a page of generations stopped: the (created_at, id) of its last record."""

    ID_PATTERN = r"[A-Za-z0-9_\-]{1,64}"
    ID_TYPE = str


GENERATION_COLUMNS = (UsageRecord.id, UsageRecord.created_at, UsageRecord.model, UsageRecord.provider,
                      UsageRecord.upstream_model, UsageRecord.key_id, UsageRecord.endpoint, UsageRecord.streamed,
                      UsageRecord.prompt_tokens, UsageRecord.completion_tokens, UsageRecord.cost_units,
                      UsageRecord.latency_ms, UsageRecord.ttft_ms, UsageRecord.status, UsageRecord.http_status,
                      UsageRecord.error_code)


async def generations_page(session: AsyncSession, account_id: str, limit: int, after: Position | None = None):
    """Up to `limit` of the account's usage records, newest first, strictly after `after`."""
    query = select(*GENERATION_COLUMNS).where(UsageRecord.account_id == account_id)
    if after is not None:
        # `created_at <= t` bounds the index range scan; the OR breaks ties within one instant by id.
        query = query.where(UsageRecord.created_at <= after.created_at,
                            or_(UsageRecord.created_at < after.created_at,
                                and_(UsageRecord.created_at == after.created_at, UsageRecord.id < after.id)))
    rows = await session.execute(query.order_by(UsageRecord.created_at.desc(), UsageRecord.id.desc()).limit(limit))
    return rows.all()
