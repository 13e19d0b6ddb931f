"""Password reset by emailed token, against a real gateway and a real local SMTP server (aiosmtpd): the
same answer for any email, a single-use token stored only as its SHA-256, every session ended, throttled."""

import hashlib
import re
import sqlite3
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from alltoken.accounts import password_reset
from alltoken.accounts.service import create_account
from alltoken.ids import new_id, utcnow
from alltoken.store.db import session_factory
from alltoken.store.models import User

from .conftest import smtp_config
from .fakes.smtp_inbox import Inbox, body_of
from .harness import Gateway, wait_for

PASSWORD, NEW_PASSWORD = "the first long password", "a brand new long password"
CONSOLE_URL = "https://console.alltoken.test"


@pytest.fixture(scope="module")
def inbox(smtp_server):
    return smtp_server[0]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, smtp_server):
    config = {"smtp": smtp_config(smtp_server[1]),
              "console_url": CONSOLE_URL + "/"}
    gateway = Gateway(tmp_path_factory.mktemp("reset"), config).start()
    yield gateway
    gateway.stop()


def new_email() -> str:
    return f"reset-{time.monotonic_ns()}@example.com"


def sign_up(gateway: Gateway, email: str) -> httpx.Client:
    browser = httpx.Client(base_url=gateway.url + "/api", timeout=15)
    answer = browser.post("/auth/signup", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return browser


def ask_reset(gateway: Gateway, email: str, peer: str = "127.0.0.1") -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=peer), timeout=15) as client:
        return client.post(gateway.url + "/api/auth/password-reset", json={"email": email})


def emailed_token(inbox: Inbox, email: str) -> str:
    def mail_to_them():
        return next((raw for _, recipients, raw in reversed(inbox.messages) if recipients == [email]), None)

    raw = wait_for(mail_to_them, timeout=10)
    assert raw is not None, f"no email reached {email}"
    subject, text = body_of(raw)
    assert subject == "Reset your AllToken password"
    link = re.search(r"https?://\S+", text).group(0)
    assert link.startswith(CONSOLE_URL + "/reset-password?token=")
    return parse_qs(urlparse(link).query)["token"][0]


def sign_in(gateway: Gateway, email: str, password: str) -> int:
    return httpx.post(gateway.url + "/api/auth/login", json={"email": email, "password": password}).status_code


def test_an_emailed_token_sets_a_new_password_once_and_ends_every_session(gateway, inbox):
    email = new_email()
    browser = sign_up(gateway, email)
    answer = ask_reset(gateway, email.upper())
    assert answer.status_code == 202 and "on its way" in answer.json()["message"]
    token = emailed_token(inbox, email)
    with sqlite3.connect(gateway.db_path) as db:
        stored = [row[0] for row in db.execute("SELECT token_hash FROM password_reset_tokens")]
    assert hashlib.sha256(token.encode()).hexdigest() in stored and token not in stored

    confirm = {"token": token, "new_password": NEW_PASSWORD}
    assert httpx.post(gateway.url + "/api/auth/password-reset/confirm", json=confirm).status_code == 204
    assert browser.get("/auth/me").status_code == 401       # the session open before the reset ended
    assert sign_in(gateway, email, PASSWORD) == 401
    assert sign_in(gateway, email, NEW_PASSWORD) == 200
    again = httpx.post(gateway.url + "/api/auth/password-reset/confirm", json={**confirm, "new_password": PASSWORD})
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_reset_token"
    assert again.json()["error"]["param"] == "token"
    actions = [entry["action"] for entry in gateway.cli("audit-log")]
    assert "auth.password_reset_request" in actions and "auth.password_reset" in actions


def test_a_reset_revokes_the_users_studio_keys(gateway, inbox):
    email = new_email()
    browser = sign_up(gateway, email)
    csrf = browser.get("/auth/me").json()["csrf_token"]
    studio = browser.post("/studio/key", headers={"x-csrf-token": csrf}, json={"accept_terms": True}).json()
    assert call_v1(gateway, studio["key"]) == 402          # a live key (the account has no credit)
    ask_reset(gateway, email)
    confirm = {"token": emailed_token(inbox, email), "new_password": NEW_PASSWORD}
    assert httpx.post(gateway.url + "/api/auth/password-reset/confirm", json=confirm).status_code == 204
    assert call_v1(gateway, studio["key"]) == 401
    assert any(entry["action"] == "keys.revoke" and entry["details"] == {"studio": True, "reason": "password reset"}
               for entry in gateway.cli("audit-log", "--target", studio["id"]))


def call_v1(gateway: Gateway, key: str) -> int:
    return httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=15,
                      json={"model": "alltoken/demo", "messages": [{"role": "user", "content": "Hi"}]}).status_code


def test_an_unknown_email_gets_the_same_answer_and_no_mail(gateway, inbox):
    known = new_email()
    sign_up(gateway, known)
    unknown = ask_reset(gateway, "nobody-" + new_email())
    assert unknown.status_code == 202
    assert ask_reset(gateway, known).json() == unknown.json()
    emailed_token(inbox, known)
    assert all(recipients != ["nobody-" + known] for _, recipients, _ in inbox.messages)


def test_a_newer_reset_link_retires_the_older_one(gateway, inbox):
    email = new_email()
    sign_up(gateway, email)
    ask_reset(gateway, email)
    first = emailed_token(inbox, email)
    ask_reset(gateway, email)
    second = wait_for(lambda: (token := emailed_token(inbox, email)) != first and token)
    assert httpx.post(gateway.url + "/api/auth/password-reset/confirm",
                      json={"token": second, "new_password": NEW_PASSWORD}).status_code == 204
    stale = httpx.post(gateway.url + "/api/auth/password-reset/confirm",
                       json={"token": first, "new_password": PASSWORD})
    assert stale.json()["error"]["code"] == "invalid_reset_token"


def test_a_weak_password_or_a_made_up_token_is_refused_in_words(gateway):
    weak = httpx.post(gateway.url + "/api/auth/password-reset/confirm", json={"token": "x", "new_password": "short"})
    assert weak.status_code == 400 and weak.json()["error"]["param"] == "new_password"
    made_up = httpx.post(gateway.url + "/api/auth/password-reset/confirm",
                         json={"token": "made-up", "new_password": NEW_PASSWORD})
    assert made_up.status_code == 400 and made_up.json()["error"]["code"] == "invalid_reset_token"
    not_an_email = ask_reset(gateway, "not an email")
    assert not_an_email.status_code == 400 and not_an_email.json()["error"]["param"] == "email"


def test_reset_requests_are_throttled_without_locking_sign_in(gateway, inbox):
    email = new_email()
    sign_up(gateway, email)
    peer = "127.0.0.9"
    answers = [ask_reset(gateway, email, peer) for _ in range(6)]
    assert [a.status_code for a in answers] == [202] * 5 + [429]
    assert answers[-1].json()["error"]["code"] == "reset_throttled" and int(answers[-1].headers["retry-after"]) > 0
    assert sign_in(gateway, email, PASSWORD) == 200


def test_without_smtp_the_server_says_it_cannot_send(tmp_path):
    gateway = Gateway(tmp_path).start()
    try:
        answer = ask_reset(gateway, new_email())
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "email_unavailable"
    finally:
        gateway.stop()


async def test_an_expired_token_is_refused(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "expired@example.com")
        await session.flush()
        session.add(User(id=new_id("user_", 8), account_id=account.id, email=account.email, password_hash="x",
                         is_admin=False, created_at=utcnow()))
        await session.flush()
        _, token = await password_reset.issue(session, "expired@example.com",
                                              now=utcnow() - password_reset.LIFETIME - timedelta(seconds=1))
    with pytest.raises(password_reset.InvalidToken):
        async with sessions.begin() as session:
            await password_reset.redeem(session, token, "a new password hash")
