"""The image moderation log (terms §4.7(c)): for every image request, exactly the moderation level
the client selected (or that it selected none), the account id, the task id (the request id), the
time and the model. Never the prompt and never image bytes. Kept for a configurable period.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alltoken.ids import utcnow
from alltoken.store.dml import changed_rows
from alltoken.store.models import ImageModerationLog

log = logging.getLogger("alltoken.images")
FIELDS = ("moderation", "account_id", "task_id", "timestamp", "model")
PAGE = 1000


@dataclass(frozen=True, slots=True)
class ModerationRecord:
    task_id: str
    account_id: str
    model: str
    moderation: str | None      # as the client sent it; None: none selected
    timestamp: datetime

    def as_dict(self) -> dict:
        return {"moderation": self.moderation, "account_id": self.account_id, "task_id": self.task_id,
                "timestamp": self.timestamp.isoformat(), "model": self.model}

    def cursor(self) -> str:
        return f"{self.timestamp.isoformat()}~{self.task_id}"


async def write(sessions: async_sessionmaker, record: ModerationRecord) -> None:
    async with sessions.begin() as session:
        await session.execute(insert(ImageModerationLog).values(
            task_id=record.task_id, account_id=record.account_id, model=record.model,
            moderation=record.moderation, created_at=record.timestamp))


async def records(session: AsyncSession, *, since: datetime | None = None, until: datetime | None = None,
                  account_id: str | None = None, after: str | None = None,
                  limit: int | None = None) -> list[ModerationRecord]:
    """Oldest first. `after` is a record's cursor(): the page that follows it."""
    table = ImageModerationLog
    query = select(table).order_by(table.created_at, table.task_id)
    if since is not None:
        query = query.where(table.created_at >= since)
    if until is not None:
        query = query.where(table.created_at < until)
    if account_id is not None:
        query = query.where(table.account_id == account_id)
    if after is not None:
        at, task_id = parse_cursor(after)
        query = query.where(tuple_(table.created_at, table.task_id) > tuple_(at, task_id))
    if limit is not None:
        query = query.limit(limit)
    rows = (await session.execute(query)).scalars()
    return [ModerationRecord(r.task_id, r.account_id, r.model, r.moderation, r.created_at) for r in rows]


async def every_record(sessions: async_sessionmaker, **filters) -> AsyncIterator[ModerationRecord]:
    """All matching records, read a page at a time (an export never holds the whole log)."""
    after = None
    while True:
        async with sessions() as session:
            page = await records(session, after=after, limit=PAGE, **filters)
        for record in page:
            yield record
        if len(page) < PAGE:
            return
        after = page[-1].cursor()


def parse_cursor(cursor: str) -> tuple[datetime, str]:
    """ValueError for anything that is not a record's cursor()."""
    at, separator, task_id = cursor.partition("~")
    parsed = datetime.fromisoformat(at)
    if not separator or not task_id or parsed.tzinfo is None:
        raise ValueError(f"not a moderation-log cursor: {cursor!r}")
    return parsed, task_id


async def purge(session: AsyncSession, older_than: datetime) -> int:
    return await changed_rows(session, delete(ImageModerationLog).where(ImageModerationLog.created_at < older_than))


async def purge_loop(sessions: async_sessionmaker, retention_days: int, interval: float) -> None:
    """Every `interval` seconds, delete the records older than the retention period."""
    while True:
        try:
            async with sessions.begin() as session:
                purged = await purge(session, utcnow() - timedelta(days=retention_days))
            if purged:
                log.info("moderation log: purged %d record(s) older than %d days", purged, retention_days)
        except Exception as exc:  # the database may be away for a while; the next round retries
            log.error("moderation log purge failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)
