"""The notifications outbox goes out by email: an enforcement warning reaches the account's
address once, even with two servers on one database, and says why; a message whose sender died
mid-send goes out once its claim lapses, and a refused send is retried later."""

from datetime import timedelta
from email import message_from_bytes, policy

from sqlalchemy import update

from alltoken.accounts.service import create_account
from alltoken.governance.notifications import queue, unsent
from alltoken.ids import utcnow
from alltoken.notifications.mailer import Mailer
from alltoken.notifications.outbox import Outbox
from alltoken.store.db import session_factory
from alltoken.store.models import Notification

from .fakes.server import free_port
from .fakes.smtp_inbox import SENDER
from .harness import Gateway, wait_for
from .test_low_balance_email import smtp, smtp_settings  # noqa: F401  (the local SMTP server fixture)


def test_a_warning_is_emailed_once_with_its_reason(tmp_path, smtp):  # noqa: F811
    inbox, port = smtp
    config = {"smtp": {"host": "127.0.0.1", "port": port, "security": "none", "from": SENDER},
              "alerts": {"interval_seconds": 0.2}}
    first = Gateway(tmp_path, config).start()
    second = Gateway(tmp_path, config).start()
    try:
        account = first.cli("accounts", "create", "--email", "warned@example.com")["id"]
        first.cli("accounts", "warn", account, "--reason", "unusual traffic from your keys")
        assert wait_for(lambda: inbox.count() >= 1, timeout=10)
        assert not wait_for(lambda: inbox.count() > 1, timeout=1.5)       # the other server did not send it too
        sender, recipients, raw = inbox.messages[0]
        message = message_from_bytes(raw, policy=policy.default)
        assert sender == SENDER and recipients == ["warned@example.com"]
        assert "unusual traffic from your keys" in message.get_content()
    finally:
        second.stop()
        first.stop()


# The outbox itself, on SQLite and PostgreSQL: claims that lapse, sends that fail.

async def _queued(engine, email: str) -> tuple:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, email)
        await session.flush()
        await queue(session, account.id, "test.notice", "A notice", "Something happened to your account.")
    async with sessions() as session:
        [notification] = await unsent(session)
    return sessions, notification.id


async def _state(sessions, notification_id: int) -> tuple:
    async with sessions() as session:
        row = await session.get(Notification, notification_id)
        return row.sent_at, row.claimed_until


async def test_a_message_whose_sender_died_mid_send_is_sent_by_another_once_the_claim_lapses(engine, smtp):  # noqa: F811
    inbox, port = smtp
    sessions, notification_id = await _queued(engine, "lapsed@example.com")
    async with sessions.begin() as session:   # as a mailer that claimed it and was killed before the SMTP answer
        await session.execute(update(Notification).where(Notification.id == notification_id)
                              .values(claimed_until=utcnow() + timedelta(seconds=60)))
    outbox = Outbox(sessions, Mailer(smtp_settings(port)))
    assert await outbox.send_pending() == 0 and inbox.count() == 0       # its claim still holds

    async with sessions.begin() as session:
        await session.execute(update(Notification).where(Notification.id == notification_id)
                              .values(claimed_until=utcnow() - timedelta(seconds=1)))
    assert await outbox.send_pending() == 1 and inbox.messages[0][1] == ["lapsed@example.com"]
    sent_at, _ = await _state(sessions, notification_id)
    assert sent_at is not None and await outbox.send_pending() == 0 and inbox.count() == 1


async def test_a_refused_send_gives_the_claim_back_unsent(engine):
    sessions, notification_id = await _queued(engine, "refused@example.com")
    nowhere = Mailer(smtp_settings(free_port()))                     # nothing listens there
    assert await Outbox(sessions, nowhere).send_pending() == 0
    assert await _state(sessions, notification_id) == (None, None)
