"""Email verification before an account makes API keys, against a real gateway and a real local SMTP server
(aiosmtpd): on by default once SMTP is configured; the emailed token is single use, expiring, and stored only
as its SHA-256; a new link can be asked for (throttled); without SMTP it cannot be turned on."""

import asyncio
import hashlib
import re
import sqlite3
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import yaml
from playwright.async_api import expect

from alltoken.accounts import email_verification
from alltoken.accounts.users import create_user
from alltoken.config import ConfigError, load_settings
from alltoken.ids import utcnow
from alltoken.store.db import session_factory

from .conftest import smtp_config
from .console_helpers import SCREENSHOTS, new_email, shoot, sign_up
from .fakes.smtp_inbox import Inbox, body_of
from .harness import Gateway, wait_for

PASSWORD = "correct horse battery"
CONSOLE_URL = "https://console.alltoken.test"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, smtp_server):
    # No `email_verification` in `sign_up`: the default applies, and SMTP is configured.
    config = {"smtp": smtp_config(smtp_server[1]),
              "console_url": CONSOLE_URL, "sign_up": {"per_address_per_hour": 1000, "per_minute": 1000}}
    gateway = Gateway(tmp_path_factory.mktemp("verify"), config).start()
    yield gateway
    gateway.stop()


class Person:
    """A signed-up, cookie-keeping browser."""

    def __init__(self, gateway: Gateway):
        self.email = f"verify-{time.monotonic_ns()}@example.com"
        self.client = httpx.Client(base_url=gateway.url + "/api", timeout=30)
        self.me = self.client.post("/auth/signup", json={"email": self.email, "password": PASSWORD}).json()

    def send(self, path: str, body: dict | None = None) -> httpx.Response:
        return self.client.post(path, json=body or {}, headers={"x-csrf-token": self.me["csrf_token"]})


@pytest.fixture
def person(gateway):
    someone = Person(gateway)
    yield someone
    someone.client.close()


def emailed_tokens(inbox: Inbox, email: str, count: int = 1) -> list[str]:
    """The tokens of the first `count` verification emails to `email`, oldest first."""
    def mail_to_them():
        found = [raw for _, recipients, raw in inbox.messages if recipients == [email]]
        return found if len(found) >= count else None

    messages = wait_for(mail_to_them, timeout=15)
    assert messages, f"no verification email reached {email}"
    tokens = []
    for raw in messages:
        subject, text = body_of(raw)
        assert subject == "Verify your AllToken email address"
        link = re.search(r"https?://\S+", text).group(0)
        assert link.startswith(CONSOLE_URL + "/verify-email?token=")
        tokens.append(parse_qs(urlparse(link).query)["token"][0])
    return tokens


def confirm(gateway: Gateway, token: str) -> httpx.Response:
    return httpx.post(gateway.url + "/api/auth/email-verification/confirm", json={"token": token}, timeout=30)


def test_an_unverified_user_makes_no_keys_until_the_emailed_link_is_followed(gateway, smtp_server, person):
    inbox, _ = smtp_server
    assert person.me["email_verified"] is False and person.me["must_verify_email"] is True
    for path, body in (("/account/keys", {"name": "ci"}), ("/studio/key", {"accept_terms": True})):
        refused = person.send(path, body)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "email_unverified", refused.text
        assert person.email in refused.json()["error"]["message"]
    (token,) = emailed_tokens(inbox, person.email)
    with sqlite3.connect(gateway.db_path) as db:
        stored = [row[0] for row in db.execute("SELECT token_hash FROM email_verification_tokens")]
    assert hashlib.sha256(token.encode()).hexdigest() in stored and token not in stored

    assert confirm(gateway, token).status_code == 204       # signed out or in: the link is the proof
    me = person.client.get("/auth/me").json()
    assert me["email_verified"] is True and me["must_verify_email"] is False
    assert person.send("/account/keys", {"name": "ci"}).status_code == 201
    again = confirm(gateway, token)
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_verification_token"
    actions = [entry["action"] for entry in gateway.cli("audit-log", "--target", person.me["user_id"])]
    assert "auth.email_verified" in actions


def test_a_new_link_can_be_asked_for_and_is_throttled(gateway, smtp_server, person):
    inbox, _ = smtp_server
    emailed_tokens(inbox, person.email)                       # the sign-up's
    answers = [person.send("/auth/email-verification") for _ in range(6)]
    assert [answer.status_code for answer in answers] == [202] * 5 + [429]
    assert answers[-1].json()["error"]["code"] == "verification_throttled"
    assert int(answers[-1].headers["retry-after"]) > 0
    tokens = emailed_tokens(inbox, person.email, count=6)
    assert confirm(gateway, tokens[-1]).status_code == 204
    assert confirm(gateway, tokens[0]).status_code == 400     # the others went with it
    done = person.send("/auth/email-verification")
    assert done.status_code == 400 and done.json()["error"]["code"] == "email_already_verified"


def test_a_made_up_token_is_refused_in_words(gateway):
    answer = confirm(gateway, "made-up")
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "token"


def test_without_smtp_there_is_no_verification_and_it_cannot_be_required(tmp_path, demo_gateway):
    with httpx.Client(base_url=demo_gateway.url + "/api", timeout=30) as browser:
        me = browser.post("/auth/signup", json={"email": f"plain-{time.monotonic_ns()}@example.com",
                                                "password": PASSWORD}).json()
        assert me["must_verify_email"] is False
        asked = browser.post("/auth/email-verification", headers={"x-csrf-token": me["csrf_token"]})
        assert asked.status_code == 503 and asked.json()["error"]["code"] == "email_unavailable"
    path = tmp_path / "alltoken.yaml"
    path.write_text(yaml.safe_dump({"sign_up": {"email_verification": True}}))
    with pytest.raises(ConfigError, match="email_verification needs smtp"):
        load_settings(str(path), env={})


def test_with_smtp_verification_is_on_unless_turned_off(tmp_path):
    smtp = {"host": "127.0.0.1", "from": "accounts@alltoken.test"}
    path = tmp_path / "alltoken.yaml"
    path.write_text(yaml.safe_dump({"smtp": smtp}))
    assert load_settings(str(path), env={}).sign_up.email_verification is True
    path.write_text(yaml.safe_dump({"smtp": smtp, "sign_up": {"email_verification": False}}))
    assert load_settings(str(path), env={}).sign_up.email_verification is False


async def test_an_expired_token_is_refused_and_admin_made_users_are_verified(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        made = await create_user(session, "made-by-admin@example.com", PASSWORD)
        assert made.user.email_verified_at is not None
        token = email_verification.issue(session, made.user.id,
                                         now=utcnow() - email_verification.LIFETIME - timedelta(seconds=1))
    with pytest.raises(email_verification.InvalidToken):
        async with sessions.begin() as session:
            await email_verification.confirm(session, token)


async def test_the_console_says_verify_your_email_resends_and_follows_the_link(open_page, gateway, smtp_server):
    inbox, _ = smtp_server
    page = await open_page()
    email = new_email()
    await sign_up(page, email)
    notice = page.get_by_role("region", name="Verify your email")
    await expect(notice).to_contain_text(f"We sent a link to {email}. Follow it to create API keys")
    await notice.get_by_role("button", name="Send a new link").click()
    await expect(notice).to_contain_text(f"A new link is on its way to {email}")
    await shoot(page, SCREENSHOTS / "verify-email-notice.png")

    token = (await asyncio.to_thread(emailed_tokens, inbox, email, 2))[-1]
    await page.goto(f"/verify-email?token={token}")
    await expect(page.get_by_role("status")).to_have_text("Your email address is verified. You can create API keys.")
    await page.get_by_role("link", name="Go to the console").click()
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    await expect(page.get_by_role("region", name="Verify your email")).to_have_count(0)
    await page.goto(f"/verify-email?token={token}")                  # used: said in words
    await expect(page.get_by_role("alert")).to_contain_text("This verification link is not valid")
