"""The outbox of messages to accounts. Actions write a message here in their own transaction; a
mailer sends the unsent ones to the account's address and sets `sent_at` (notifications/outbox.py).
Messages say what happened to the account and why; they never hold request content."""

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.ids import utcnow
from alltoken.store.models import Notification


async def queue(session: AsyncSession, account_id: str, kind: str, subject: str, body: str) -> None:
    await session.execute(insert(Notification).values(account_id=account_id, kind=kind, subject=subject, body=body,
                                                      created_at=utcnow()))


async def unsent(session: AsyncSession, limit: int = 100) -> list[Notification]:
    """Oldest first: what a mailer has still to send."""
    return list(await session.scalars(select(Notification).where(Notification.sent_at.is_(None))
                                      .order_by(Notification.id).limit(limit)))
