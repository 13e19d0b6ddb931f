"""The audit log: one entry per administrative or security action, written in the action's own
transaction so an action and its record commit together or not at all."""

import getpass
import socket
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.ids import utcnow
from alltoken.store.models import AuditEntry


async def record(session: AsyncSession, actor: str, action: str, target: str | None = None,
                 details: dict[str, object] | None = None, address: str | None = None) -> None:
    await session.execute(insert(AuditEntry).values(at=utcnow(), actor=actor, action=action, target=target,
                                                    details=details or None, address=address))


def cli_actor() -> str:
    """The operator running an admin command on this machine."""
    return f"cli:{getpass.getuser()}@{socket.gethostname()}"


async def entries(session: AsyncSession, since: datetime | None = None, target: str | None = None,
                  after_id: int = 0, limit: int | None = 1000) -> list[dict[str, object]]:
    """Oldest first from `since` (or after entry `after_id`, to page), at most `limit` (None: all)."""
    query = select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id).limit(limit)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if target is not None:
        query = query.where(AuditEntry.target == target)
    return [as_dict(entry) for entry in (await session.scalars(query))]


def as_dict(entry: AuditEntry) -> dict[str, object]:
    return {"id": entry.id, "at": entry.at.isoformat(), "actor": entry.actor, "action": entry.action,
            "target": entry.target, "address": entry.address, "details": entry.details or {}}
