"""Console sign-up and sign-in: argon2id passwords, httpOnly session cookies, CSRF, throttling,
sign-out everywhere."""

import asyncio
import time

import httpx
import pytest
from sqlalchemy import select

from alltoken.accounts import sign_in_throttle
from alltoken.store.db import session_factory
from alltoken.store.models import SignInCount

PASSWORD = "correct horse battery"


@pytest.fixture
def browser(demo_gateway):
    """A cookie-keeping HTTP client, as a browser on the console would be."""
    with httpx.Client(base_url=demo_gateway.url + "/api", timeout=15) as client:
        yield client


def new_email() -> str:
    return f"dev-{time.monotonic_ns()}@example.com"


def sign_up(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/auth/signup", json={"email": email, "password": password})


def test_sign_up_signs_in_with_an_httponly_cookie_and_a_csrf_token(browser, demo_gateway):
    email = new_email()
    response = sign_up(browser, email.upper())
    assert response.status_code == 201, response.text
    me = response.json()
    assert me["email"] == email and me["account_id"].startswith("acct_") and not me["is_admin"]
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("atk_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie and "Path=/" in session_cookie
    csrf_cookie = next(c for c in cookies if c.startswith("atk_csrf="))
    assert "HttpOnly" not in csrf_cookie and me["csrf_token"] in csrf_cookie
    assert browser.get("/auth/me").json() == me
    # Only the token's hash is stored.
    token = browser.cookies["atk_session"]
    assert token.encode() not in demo_gateway.db_path.read_bytes()


@pytest.mark.parametrize("body, code", [
    ({"email": "not-an-email", "password": PASSWORD}, "invalid_email"),
    ({"email": "short@example.com", "password": "short"}, "weak_password"),
    ({"email": "big@example.com", "password": "x" * 300}, "invalid_request"),
    ({"password": PASSWORD}, "invalid_request"),
])
def test_bad_sign_ups_are_400_with_a_reason(browser, body, code):
    response = browser.post("/auth/signup", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == code, response.text


def test_an_email_signs_up_once(browser):
    email = new_email()
    assert sign_up(browser, email).status_code == 201
    again = sign_up(browser, email)
    assert again.status_code == 400 and again.json()["error"]["code"] == "email_taken"


def test_sign_in_and_out(demo_gateway, browser):
    email = new_email()
    sign_up(browser, email)
    with httpx.Client(base_url=demo_gateway.url + "/api", timeout=15) as other:
        wrong = other.post("/auth/login", json={"email": email, "password": "wrong password!"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "wrong_credentials"
        unknown = other.post("/auth/login", json={"email": new_email(), "password": PASSWORD})
        assert unknown.status_code == 401 and unknown.json()["error"]["message"] == wrong.json()["error"]["message"]
        signed_in = other.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert signed_in.status_code == 200 and other.get("/auth/me").json()["email"] == email
        csrf = signed_in.json()["csrf_token"]
        assert other.post("/auth/logout", headers={"x-csrf-token": csrf}).status_code == 204
        after = other.get("/auth/me")
        assert after.status_code == 401 and after.json()["error"]["code"] == "not_signed_in"


def test_changes_need_the_csrf_token(browser):
    csrf = sign_up(browser, new_email()).json()["csrf_token"]
    for header in ({}, {"x-csrf-token": "forged"}):
        refused = browser.post("/auth/logout-everywhere", headers=header)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    assert browser.get("/auth/me").status_code == 200
    assert browser.post("/auth/logout-everywhere", headers={"x-csrf-token": csrf}).status_code == 204


def test_sign_out_everywhere_and_a_password_change_end_the_other_sessions(demo_gateway, browser):
    email = new_email()
    csrf = sign_up(browser, email).json()["csrf_token"]
    laptops = [httpx.Client(base_url=demo_gateway.url + "/api", timeout=15) for _ in range(2)]
    try:
        for laptop in laptops:
            assert laptop.post("/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200
        changed = browser.post("/auth/password", headers={"x-csrf-token": csrf},
                               json={"current_password": PASSWORD, "new_password": "a new long password"})
        assert changed.status_code == 204, changed.text
        assert browser.get("/auth/me").status_code == 200                      # this session stays
        assert all(laptop.get("/auth/me").status_code == 401 for laptop in laptops)
        old = laptops[0].post("/auth/login", json={"email": email, "password": PASSWORD})
        assert old.status_code == 401
        new = laptops[0].post("/auth/login", json={"email": email, "password": "a new long password"})
        assert new.status_code == 200
        assert browser.post("/auth/logout-everywhere", headers={"x-csrf-token": csrf}).status_code == 204
        assert browser.get("/auth/me").status_code == 401 and laptops[0].get("/auth/me").status_code == 401
    finally:
        for laptop in laptops:
            laptop.close()


def test_repeated_failures_make_that_email_wait_even_with_the_right_password(demo_gateway, browser):
    email = new_email()
    sign_up(browser, email)
    with httpx.Client(base_url=demo_gateway.url + "/api", timeout=15) as attacker:
        codes = [attacker.post("/auth/login", json={"email": email, "password": f"guess number {i}"}).status_code
                 for i in range(5)]
        assert codes == [401] * 5
        throttled = attacker.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "sign_in_throttled"
        assert 14 * 60 <= int(throttled.headers["retry-after"]) <= 15 * 60
    # Another email is not held up by this one's failures.
    other = new_email()
    sign_up(browser, other)
    with httpx.Client(base_url=demo_gateway.url + "/api", timeout=15) as someone:
        assert someone.post("/auth/login", json={"email": other, "password": PASSWORD}).status_code == 200


async def test_concurrent_wrong_passwords_get_exactly_the_limit_checked(demo_gateway, browser):
    """Counted before the check, atomically: 30 guesses at once for one email get 5 checked (401), the rest
    429. (Counted after the check, 19 of 30 were checked.)"""
    email = new_email()
    sign_up(browser, email)
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.31")   # an address no other test uses
    async with httpx.AsyncClient(base_url=demo_gateway.url + "/api", transport=transport, timeout=120) as attacker:
        answers = await asyncio.gather(*(attacker.post("/auth/login", json={"email": email, "password": f"guess {i}"})
                                         for i in range(30)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [401] * sign_in_throttle.PER_EMAIL + [429] * (30 - sign_in_throttle.PER_EMAIL)


async def test_the_count_is_atomic_in_the_store(engine):
    """On SQLite and PostgreSQL, 30 attempts in 30 transactions at once: exactly the limit are counted; the
    rest are refused, counting nothing, with the seconds left in the window."""
    sessions = session_factory(engine)
    email, address = f"race-{time.monotonic_ns()}@example.com", f"203.0.113.{time.monotonic_ns() % 250}"

    async def attempt() -> int:
        try:
            async with sessions.begin() as session:
                await sign_in_throttle.count_attempt(session, email, address)
        except sign_in_throttle.Throttled as refused:
            assert 0 < refused.seconds <= sign_in_throttle.WINDOW.total_seconds()
            return 429
        return 200

    outcomes = await asyncio.gather(*(attempt() for _ in range(30)))
    assert outcomes.count(200) == sign_in_throttle.PER_EMAIL
    async with sessions() as session:
        counts = dict((await session.execute(select(SignInCount.subject, SignInCount.attempts))).all())
    assert sorted(counts.values()) == [sign_in_throttle.PER_EMAIL] * 2      # the email's and the address's


def test_session_endpoints_want_a_session_not_an_api_key(demo_gateway):
    _, key = demo_gateway.new_key()
    response = httpx.post(demo_gateway.url + "/api/auth/logout-everywhere", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "session_required"


def test_sign_ups_and_sign_ins_are_audited_without_the_email(demo_gateway, browser):
    email = new_email()
    user_id = sign_up(browser, email).json()["user_id"]
    with httpx.Client(base_url=demo_gateway.url + "/api", timeout=15) as other:
        other.post("/auth/login", json={"email": email, "password": "wrong password!"})
        other.post("/auth/login", json={"email": email, "password": PASSWORD})
    actions = [(e["actor"], e["action"], e["address"]) for e in demo_gateway.cli("audit-log")
               if e["actor"] == f"user:{user_id}" or (e["action"] == "auth.sign_in_failed" and e["target"] == user_id)]
    assert actions == [(f"user:{user_id}", "auth.signup", "127.0.0.1"),
                       ("anonymous", "auth.sign_in_failed", "127.0.0.1"),
                       (f"user:{user_id}", "auth.sign_in", "127.0.0.1")]
    assert email not in str(demo_gateway.cli("audit-log"))
