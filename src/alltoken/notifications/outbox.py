"""Sends the notifications outbox (governance/notifications.py) to each account's email address.

Every server runs this; a message is claimed by a conditional UPDATE of its `claimed_until`, so one
process sends it, and marked sent (`sent_at`) once the SMTP server accepted it. A failed send gives
the claim back for the next tick; the claim of a process killed mid-send lapses after CLAIM_SECONDS
and another process sends the message then. So a message is never lost, and is sent twice only if
a process dies after the SMTP server accepted it and before marking it sent.
"""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alltoken.config import Settings
from alltoken.governance.notifications import unsent
from alltoken.ids import utcnow
from alltoken.notifications.mailer import Mailer
from alltoken.store.models import Account, Notification

log = logging.getLogger("alltoken.outbox")

CLAIM_SECONDS = 300.0   # longer than any SMTP exchange (the mailer's own timeouts are far shorter)

async def outbox_loop(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    """The background task of a running server (runtime/gateway.py); idle without SMTP settings."""
    if settings.smtp is None:
        return
    outbox = Outbox(sessions, Mailer(settings.smtp))
    while True:
        await asyncio.sleep(settings.alerts.interval_seconds)
        try:
            await outbox.send_pending()
        except Exception as exc:  # the database may be away; the next tick tries again
            log.warning("sending the outbox failed, will retry: %s", type(exc).__name__)


class Outbox:
    def __init__(self, sessions: async_sessionmaker, mailer: Mailer):
        self._sessions = sessions
        self._mailer = mailer

    async def send_pending(self) -> int:
        """Send what is unsent; returns how many went out."""
        async with self._sessions() as session:
            pending = [(n.id, n.account_id, n.subject, n.body) for n in await unsent(session)]
        sent = 0
        for notification_id, account_id, subject, body in pending:
            recipient = await self._claim(notification_id, account_id)
            if recipient is None:
                continue
            try:
                await self._mailer.send(recipient, subject, body)
            except Exception as exc:
                log.warning("could not send notification %s, will retry: %s", notification_id, type(exc).__name__)
                await self._mark(notification_id, claimed_until=None)
                continue
            await self._mark(notification_id, sent_at=utcnow())
            sent += 1
        return sent

    async def _claim(self, notification_id: int, account_id: str) -> str | None:
        """The account's address if this process won the message, else None."""
        now = utcnow()
        async with self._sessions.begin() as session:
            won = await session.execute(update(Notification).where(
                Notification.id == notification_id, Notification.sent_at.is_(None),
                or_(Notification.claimed_until.is_(None), Notification.claimed_until < now))
                .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS)))
            if won.rowcount != 1:
                return None
            account = (await session.execute(select(Account.email, Account.status)
                                             .where(Account.id == account_id))).first()
            if account is None or account.status == "deleted":
                # A deleted account's address is a tombstone: there is no one to tell.
                await session.execute(update(Notification).where(Notification.id == notification_id)
                                      .values(sent_at=now))
                return None
        return account.email

    async def _mark(self, notification_id: int, **values) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(Notification).where(Notification.id == notification_id).values(**values))
