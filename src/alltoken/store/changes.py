"""The change feed: control-plane writes append an event; running servers poll it and drop stale cache."""

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.ids import utcnow
from alltoken.store import change_signal
from alltoken.store.models import ChangeEvent


async def record_change(session: AsyncSession, entity: str, entity_id: str) -> None:
    await session.execute(insert(ChangeEvent).values(entity=entity, entity_id=entity_id, created_at=utcnow()))
    change_signal.mark(session)   # once committed, other processes are told to read the feed now


async def changes_after(session: AsyncSession, cursor: int) -> list[tuple[int, str, str]]:
    rows = await session.execute(
        select(ChangeEvent.id, ChangeEvent.entity, ChangeEvent.entity_id).where(ChangeEvent.id > cursor)
        .order_by(ChangeEvent.id))
    return [(change_id, entity, entity_id) for change_id, entity, entity_id in rows]


async def latest_change(session: AsyncSession) -> int:
    return (await session.execute(select(func.coalesce(func.max(ChangeEvent.id), 0)))).scalar_one()
