"""The notifications outbox goes out by email: an enforcement warning reaches the account's
address once, even with two servers on one database, and says why."""

from email import message_from_bytes, policy

from .fakes.smtp_inbox import SENDER
from .harness import Gateway, wait_for
from .test_low_balance_email import smtp  # noqa: F401  (the local SMTP server fixture)


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
