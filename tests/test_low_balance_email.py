"""Low-balance email against a real local SMTP server (aiosmtpd): once per fall below the
threshold, from however many processes, never with request content; recorded without SMTP;
retried after a failed send."""

import asyncio
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from alltoken.accounts.service import create_account
from alltoken.billing import alerts, ledger
from alltoken.billing.ledger import Charge
from alltoken.billing.reservations import LocalCreditBook
from alltoken.config import AlertSettings, ConfigError, SmtpSettings, load_settings
from alltoken.money import UNITS_PER_USD
from alltoken.notifications.low_balance import LowBalanceAlerts
from alltoken.notifications.mailer import Mailer
from alltoken.runtime.loaders import Loaders
from alltoken.store.db import session_factory
from alltoken.store.models import BalanceAlert

from .fakes.server import free_port
from .fakes.smtp_inbox import SENDER, body_of, running_inbox
from .harness import Gateway, wait_for
from .session_helpers import Console

USD = UNITS_PER_USD


@pytest.fixture
def smtp():
    with running_inbox() as mail:
        yield mail


def smtp_settings(port: int) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, sender=SENDER, security="none", timeout_seconds=5)


# End to end: two gateway processes on one database, spending through the openai SDK.

@pytest.fixture
def gateways(tmp_path, smtp):
    _, port = smtp
    config = {"smtp": {"host": "127.0.0.1", "port": port, "security": "none", "from": SENDER},
              "alerts": {"interval_seconds": 0.2}}
    first = Gateway(tmp_path, config).start()
    second = Gateway(tmp_path, config).start()
    yield first, second
    second.stop()
    first.stop()


def alert_api(gateway, key, method="GET", body=None) -> dict:
    response = httpx.request(method, gateway.url + "/api/billing/alerts", json=body,
                             headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def spend_below(gateway, account, key, threshold, canary) -> str:
    """Send requests one at a time, each settled in the database before the next, until the
    balance is below the threshold; returns that balance as the CLI shows it."""
    client = gateway.sdk(key)
    while True:
        before = gateway.balance(account)
        client.chat.completions.create(model="alltoken/demo", max_tokens=30,
                                       messages=[{"role": "user", "content": f"remember {canary} please"}])
        assert wait_for(lambda: gateway.balance(account) < before, timeout=5)
        if gateway.balance(account) < threshold:
            return gateway.cli("credits", "balance", "--account", account)["balance_usd"]


def test_one_email_per_fall_below_the_threshold(gateways, smtp):
    first, second = gateways
    inbox, _ = smtp
    canary = f"CANARY-{secrets.token_hex(8)}"
    owner = Console(first)        # sending alerts elsewhere is the owner's, signed in, password confirmed
    account = owner.own_account
    first.cli("credits", "grant", "--account", account, "--usd", "0.0005")
    key = first.cli("keys", "create", "--account", account)["key"]
    recipient = f"alerts-{secrets.token_hex(3)}@example.com"
    setting = owner.reauthenticate().send("PUT", "/billing/alerts", {"low_balance_usd": "0.0003",
                                                                     "email": recipient}).json()
    assert setting | {"triggered_at": None} == {
        "low_balance_usd": "0.000300", "email": recipient, "outstanding": False, "triggered_at": None,
        "notified_at": None, "email_enabled": True}

    balance = spend_below(first, account, key, Decimal("0.0003"), canary)
    assert wait_for(lambda: inbox.count() >= 1, timeout=10)
    assert wait_for(lambda: alert_api(second, key)["notified_at"], timeout=5)
    first.sdk(key).chat.completions.create(model="alltoken/demo", max_tokens=5,
                                           messages=[{"role": "user", "content": canary}])
    time.sleep(1.5)  # several checks of both processes, still below the threshold: nothing more is sent
    assert inbox.count() == 1
    sender, recipients, raw = inbox.messages[0]
    subject, text = body_of(raw)
    assert sender == SENDER and recipients == [recipient]
    assert account in subject and account in text
    assert f"is {balance} USD" in text and "threshold of 0.000300 USD" in text and "add credits" in text
    assert canary.encode() not in raw and b"remember" not in raw and b"You said" not in raw

    first.cli("credits", "grant", "--account", account, "--usd", "0.001")
    assert wait_for(lambda: not alert_api(first, key)["outstanding"], timeout=5)
    assert inbox.count() == 1
    balance = spend_below(first, account, key, Decimal("0.0003"), canary)
    assert wait_for(lambda: inbox.count() >= 2, timeout=10)
    time.sleep(1.0)
    assert inbox.count() == 2
    _, recipients, raw = inbox.messages[1]
    assert recipients == [recipient] and f"is {balance} USD" in body_of(raw)[1] and canary.encode() not in raw
    assert "low-balance email sent" in first.log() + second.log() and canary not in first.log() + second.log()


def test_alert_settings_default_to_the_account_email_and_refuse_bad_input(gateways):
    first, _ = gateways
    account, key = first.new_key(usd="1")
    email = alert_api(first, key)["email"]
    assert email.startswith("user-") and alert_api(first, key)["low_balance_usd"] is None
    assert alert_api(first, key, "PUT", {"low_balance_usd": "0.5"})["email"] == email
    assert alert_api(first, key, "PUT", {"low_balance_usd": None})["low_balance_usd"] is None
    for body, param in (({"low_balance_usd": "-1"}, "low_balance_usd"), ({"low_balance_usd": 0.5}, "low_balance_usd"),
                        ({"low_balance_usd": "x"}, "low_balance_usd"),
                        ({"low_balance_usd": "1", "email": "not-an-email"}, "email")):
        response = httpx.put(first.url + "/api/billing/alerts", json=body, headers={"Authorization": f"Bearer {key}"},
                             timeout=10)
        assert response.status_code == 400 and response.json()["error"]["param"] == param, response.text
    assert httpx.get(first.url + "/api/billing/alerts", timeout=10).status_code == 401


# The checker itself, on SQLite and PostgreSQL.

async def account_with_alert(sessions, usd: str, threshold_usd: str, email: str | None = None) -> str:
    async with sessions.begin() as session:
        account = (await create_account(session, f"low-{secrets.token_hex(4)}@example.com")).id
        await session.flush()
        await ledger.grant(session, account, usd)
        await alerts.set_alert(session, account, alerts.parse_threshold(threshold_usd), email)
    return account


class Process:
    """What one server process has: its own credit book, and a checker reading it."""

    def __init__(self, sessions, mailer: Mailer | None):
        loaders = Loaders(sessions)
        self.book = LocalCreditBook(load_balance=loaders.balance, new_entries=loaders.ledger_entries)
        self.alerts = LowBalanceAlerts(sessions, self.book, AlertSettings(interval_seconds=0.1), mailer)

    async def check(self) -> None:
        await self.book.catch_up()   # as the server's cache sync does
        await self.alerts.check(datetime.now(UTC))


async def charge(sessions, account: str, units: int) -> None:
    async with sessions.begin() as session:
        await ledger.write_charges(session, [Charge(account, f"gen-{secrets.token_hex(6)}", units)])


async def test_several_processes_send_exactly_once(engine, smtp):
    inbox, port = smtp
    sessions = session_factory(engine)
    account = await account_with_alert(sessions, "1", "0.5", "ops@example.com")
    processes = [Process(sessions, Mailer(smtp_settings(port))) for _ in range(4)]
    for process in processes:
        await process.check()   # above the threshold: nothing
    await charge(sessions, account, 6 * USD // 10)
    for _ in range(3):
        await asyncio.gather(*(process.check() for process in processes))
    ours = [m for m in inbox.messages if m[1] == ["ops@example.com"] and account.encode() in m[2]]
    assert len(ours) == 1 and b"is 0.400000 USD" in ours[0][2]
    async with sessions() as session:
        row = await session.get(BalanceAlert, account)
        assert row.triggered_at and row.notified_at and row.sending_until is None


async def test_rearmed_only_when_the_ledger_is_back_above(engine, smtp):
    inbox, port = smtp
    sessions = session_factory(engine)
    account = await account_with_alert(sessions, "1", "0.5")
    process = Process(sessions, Mailer(smtp_settings(port)))
    await charge(sessions, account, 7 * USD // 10)
    await process.check()
    assert inbox.count() == 1
    async with sessions.begin() as session:
        await ledger.grant(session, account, "0.2")   # 0.5: at the threshold, which is not below it
    await process.check()
    await charge(sessions, account, 1)               # below again by one unit: a new fall
    await process.check()
    assert inbox.count() == 2
    async with sessions.begin() as session:
        assert not await alerts.rearm(session, account)  # still below: the alert stays outstanding


async def test_without_smtp_alerts_are_recorded_and_said_once(engine, caplog):
    sessions = session_factory(engine)
    first = await account_with_alert(sessions, "1", "2")
    second = await account_with_alert(sessions, "1", "3")
    process = Process(sessions, None)
    with caplog.at_level(logging.WARNING, logger="alltoken.alerts"):
        for _ in range(3):
            await process.check()
    assert [r.getMessage() for r in caplog.records].count(
        "low-balance alerts are recorded but not emailed: no smtp host is configured") == 1
    async with sessions() as session:
        for account in (first, second):
            row = await session.get(BalanceAlert, account)
            assert row.triggered_at is not None and row.notified_at is None


async def test_a_failed_send_is_logged_and_retried(engine, smtp, caplog):
    inbox, port = smtp
    sessions = session_factory(engine)
    account = await account_with_alert(sessions, "1", "2", "retry@example.com")
    broken = Process(sessions, Mailer(smtp_settings(free_port())))   # nothing listens there
    with caplog.at_level(logging.WARNING, logger="alltoken.alerts"):
        await broken.check()
    assert any("failed, will retry" in r.getMessage() and account in r.getMessage() for r in caplog.records)
    async with sessions() as session:
        row = await session.get(BalanceAlert, account)
        assert row.triggered_at and row.notified_at is None and row.sending_until is None
    await Process(sessions, Mailer(smtp_settings(port))).check()
    assert [m[1] for m in inbox.messages] == [["retry@example.com"]]


async def test_a_claim_held_by_another_process_is_left_alone_until_it_lapses(engine):
    sessions = session_factory(engine)
    account = await account_with_alert(sessions, "1", "2")
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        assert await alerts.trigger(session, account, now)
        assert await alerts.claim_email(session, account, now, timedelta(minutes=5))
        assert not await alerts.claim_email(session, account, now + timedelta(minutes=1), timedelta(minutes=5))
        assert await alerts.claim_email(session, account, now + timedelta(minutes=6), timedelta(minutes=5))


def test_smtp_settings_from_file_and_environment(tmp_path):
    path = tmp_path / "alltoken.yaml"
    path.write_text("smtp: {host: mail.example.com, from: billing@example.com, username: u, password: p}\n"
                    "alerts: {interval_seconds: 30, top_up_url: https://example.com/billing}\n")
    settings = load_settings(str(path), env={})
    assert settings.smtp == SmtpSettings(host="mail.example.com", port=587, sender="billing@example.com",
                                         username="u", password="p", security="starttls")
    assert settings.alerts.interval_seconds == 30 and settings.alerts.top_up_url == "https://example.com/billing"
    overridden = load_settings(str(path), env={"ALLTOKEN_SMTP_SECURITY": "tls", "ALLTOKEN_SMTP_PASSWORD": "secret",
                                               "ALLTOKEN_ALERTS_INTERVAL_SECONDS": "5"})
    assert (overridden.smtp.security, overridden.smtp.port, overridden.smtp.password) == ("tls", 465, "secret")
    assert overridden.alerts.interval_seconds == 5
    assert load_settings(None, env={"ALLTOKEN_SMTP_HOST": "localhost", "ALLTOKEN_SMTP_FROM": "a@localhost",
                                    "ALLTOKEN_SMTP_SECURITY": "none"}).smtp.port == 25
    assert load_settings(None, env={}).smtp is None


@pytest.mark.parametrize("text,fragment", [
    ("smtp: {port: 25}", "host is required"),
    ("smtp: {host: h}", "smtp.from is required"),
    ("smtp: {host: h, from: a@b.c, security: ssl}", "smtp.security"),
    ("smtp: {host: h, from: a@b.c, port: 0}", "port"),
    ("smtp: {host: h, from: a@b.c, sender: x}", "smtp: expected"),
    ("alerts: {interval_seconds: 0}", "interval_seconds"),
    ("alerts: {every: 5}", "alerts: expected"),
])
def test_bad_smtp_or_alert_settings_are_refused(tmp_path, text, fragment):
    path = tmp_path / "alltoken.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=fragment):
        load_settings(str(path), env={})
