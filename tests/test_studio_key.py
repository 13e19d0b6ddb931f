"""POST /api/studio/key: the console Studio's short-lived API key. Sessions only, CSRF-checked; one live
Studio key per user (a new one revokes the previous), revoked at sign-out; other accounts unaffected."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from alltoken.accounts import studio_keys
from alltoken.accounts.service import create_key
from alltoken.accounts.teams import add_member, create_team
from alltoken.accounts.users import create_user
from alltoken.store.db import session_factory
from alltoken.store.models import ApiKey

from .harness import Gateway, wait_for

PASSWORD = "correct horse battery"
CHAT = {"model": "alltoken/demo", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("studio-key")).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def browser(gateway):
    """A signed-up, cookie-keeping client with $1 of credit: (client, csrf token, account id, user id)."""
    with httpx.Client(base_url=gateway.url + "/api", timeout=15) as client:
        me = client.post("/auth/signup", json={"email": f"studio-{time.monotonic_ns()}@example.com",
                                               "password": PASSWORD}).json()
        gateway.cli("credits", "grant", "--account", me["account_id"], "--usd", "1")
        yield client, me["csrf_token"], me["account_id"], me["user_id"]


def studio_key(client: httpx.Client, csrf: str) -> dict:
    made = client.post("/studio/key", headers={"x-csrf-token": csrf}, json={"accept_terms": True})
    assert made.status_code == 201, made.text
    return made.json()


def chat(gateway: Gateway, key: str) -> httpx.Response:
    return httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=CHAT,
                      timeout=15)


def test_a_session_gets_an_hour_long_key_that_calls_v1_on_the_accounts_credit(browser, gateway):
    client, csrf, account, user = browser
    made = studio_key(client, csrf)
    assert made["account_id"] == account and made["name"] == "Studio (console)" and made["key"].startswith("atk_")
    lifetime = datetime.fromisoformat(made["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=58) < lifetime <= timedelta(hours=1) and made["replaced"] == []
    answer = chat(gateway, made["key"])
    assert answer.status_code == 200, answer.text
    cost = httpx.get(gateway.url + "/v1/generation", params={"id": answer.headers["x-request-id"]},
                     headers={"Authorization": f"Bearer {made['key']}"}).json()["data"]["cost_usd"]
    assert Decimal(cost) > 0
    assert wait_for(lambda: gateway.balance(account) == 1 - Decimal(cost), timeout=5)
    listed = client.get("/account/keys").json()
    assert [(k["id"], k["name"]) for k in listed] == [(made["id"], "Studio (console)")]
    assert made["key"] not in str(listed)
    entries = gateway.cli("audit-log", "--target", account)
    assert any(e["action"] == "keys.create" and e["actor"] == f"user:{user}" and e["details"]["studio"] is True
               and e["details"]["key_id"] == made["id"] for e in entries)


def test_a_new_studio_key_revokes_the_previous_one_and_no_other_key(browser, gateway):
    client, csrf, account, _ = browser
    own = client.post("/account/keys", headers={"x-csrf-token": csrf}, json={"name": "Studio"}).json()
    first = studio_key(client, csrf)
    second = studio_key(client, csrf)
    assert second["replaced"] == [first["id"]]
    assert chat(gateway, first["key"]).status_code == 401
    assert chat(gateway, second["key"]).status_code == 200
    assert chat(gateway, own["key"]).status_code == 200            # a key the user made is not the Studio's
    revoked = {k["id"]: k["revoked_at"] for k in client.get("/account/keys").json()}
    assert revoked[first["id"]] and not revoked[second["id"]] and not revoked[own["id"]]
    assert any(e["action"] == "keys.revoke" and e["details"] == {"studio": True}
               for e in gateway.cli("audit-log", "--target", first["id"]))


@pytest.mark.parametrize("header", [{}, {"x-csrf-token": "forged"}])
def test_without_the_csrf_token_no_key_is_made(browser, header):
    client, _, _, _ = browser
    refused = client.post("/studio/key", headers=header, json={"accept_terms": True})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    assert client.get("/account/keys").json() == []


def test_api_keys_and_strangers_are_refused(browser, gateway):
    client, csrf, _, _ = browser
    own = client.post("/account/keys", headers={"x-csrf-token": csrf}, json={}).json()
    refused = gateway.api("POST", "/studio/key", own["key"], json={})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "session_required"
    stranger = httpx.post(gateway.url + "/api/studio/key", json={})
    assert stranger.status_code == 401 and stranger.json()["error"]["code"] == "not_signed_in"
    assert [k["name"] for k in client.get("/account/keys").json()] == [None]


def test_another_accounts_keys_are_unaffected(browser, gateway):
    client, csrf, _, _ = browser
    with httpx.Client(base_url=gateway.url + "/api", timeout=15) as other:
        me = other.post("/auth/signup", json={"email": f"other-{time.monotonic_ns()}@example.com",
                                              "password": PASSWORD}).json()
        gateway.cli("credits", "grant", "--account", me["account_id"], "--usd", "1")
        theirs = studio_key(other, me["csrf_token"])
        mine = studio_key(client, csrf)
        assert mine["replaced"] == [] and mine["account_id"] != theirs["account_id"]
        assert chat(gateway, theirs["key"]).status_code == 200
        client.post("/auth/logout", headers={"x-csrf-token": csrf})
        assert chat(gateway, theirs["key"]).status_code == 200
        assert chat(gateway, mine["key"]).status_code == 401


@pytest.mark.parametrize("sign_out", ["/auth/logout", "/auth/logout-everywhere"])
def test_signing_out_revokes_the_studio_key_only(browser, gateway, sign_out):
    client, csrf, account, user = browser
    own = client.post("/account/keys", headers={"x-csrf-token": csrf}, json={"name": "ci"}).json()
    made = studio_key(client, csrf)
    assert chat(gateway, made["key"]).status_code == 200
    assert client.post(sign_out, headers={"x-csrf-token": csrf}).status_code == 204
    after = chat(gateway, made["key"])
    assert after.status_code == 401, after.text
    assert chat(gateway, own["key"]).status_code == 200
    assert any(e["action"] == "keys.revoke" and e["actor"] == f"user:{user}"
               and e["details"] == {"studio": True, "reason": "sign-out"}
               for e in gateway.cli("audit-log", "--target", made["id"]))


def test_a_password_change_revokes_the_users_studio_keys(browser, gateway):
    """Whoever knew the old password may hold a Studio key made with it: the change ends it with the sessions."""
    client, csrf, _, user = browser
    own = client.post("/account/keys", headers={"x-csrf-token": csrf}, json={"name": "ci"}).json()
    made = studio_key(client, csrf)
    changed = client.post("/auth/password", headers={"x-csrf-token": csrf},
                          json={"current_password": PASSWORD, "new_password": "a brand new long password"})
    assert changed.status_code == 204, changed.text
    after = chat(gateway, made["key"])
    assert after.status_code == 401, after.text
    assert chat(gateway, own["key"]).status_code == 200          # keys the user made themselves stay
    assert any(e["action"] == "keys.revoke" and e["actor"] == f"user:{user}"
               and e["details"] == {"studio": True, "reason": "password change"}
               for e in gateway.cli("audit-log", "--target", made["id"]))
    assert chat(gateway, studio_key(client, csrf)["key"]).status_code == 200   # this session makes a new one


def test_a_studio_key_needs_the_terms_in_effect_accepted(browser, gateway):
    client, csrf, account, _ = browser
    version = f"studio-{time.monotonic_ns()}"
    gateway.cli("terms", "publish", "--version", version, "--effective", datetime.now(UTC).isoformat())
    refused = client.post("/studio/key", headers={"x-csrf-token": csrf}, json={})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "terms_not_accepted"
    assert version in refused.json()["error"]["message"]
    assert client.get("/account/keys").json() == []
    unconfirmed = client.post("/studio/key", headers={"x-csrf-token": csrf}, json={"accept_terms": True})
    assert unconfirmed.status_code == 403 and unconfirmed.json()["error"]["code"] == "reauthentication_required"
    confirmed = client.post("/auth/reauthenticate", headers={"x-csrf-token": csrf}, json={"password": PASSWORD})
    assert confirmed.status_code == 200
    made = studio_key(client, csrf)                 # accepting the terms is the owner's, password confirmed
    assert made["terms_accepted"] == version
    assert chat(gateway, made["key"]).status_code == 200


async def test_studio_keys_in_the_store_belong_to_the_member_and_die_with_their_sessions(engine):
    """On SQLite and PostgreSQL: a team member's Studio key carries their user id (so their role and limit
    apply), a personal account's none; one live per user and account; sign-out everywhere revokes the
    user's Studio keys on every account, and nobody else's."""
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        alice, bob = [(await create_user(session, f"{name}@example.com")).user for name in ("alice", "bob")]
        team, _ = await create_team(session, "Acme", "alice@example.com")
        await add_member(session, team.id, "bob@example.com", "developer")
        own = await create_key(session, team.id, name=studio_keys.NAME)            # the account's, made by hand
        in_team, _ = await studio_keys.issue(session, team.id, alice.id)
        personal, _ = await studio_keys.issue(session, alice.account_id, alice.id)
        bobs, _ = await studio_keys.issue(session, team.id, bob.id)
        again, replaced = await studio_keys.issue(session, team.id, alice.id)
    assert (in_team.row.user_id, personal.row.user_id, bobs.row.user_id) == (alice.id, None, bob.id)
    assert replaced == [in_team.row.id]
    async with sessions.begin() as session:
        revoked = await studio_keys.revoke_for_user(session, alice.id)
    assert revoked == sorted([again.row.id, personal.row.id])
    async with sessions() as session:
        live = {row.id for row in (await session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None))))}
    assert live == {own.row.id, bobs.row.id}
    async with sessions.begin() as session:
        assert await studio_keys.revoke_for_session(session, team.id, bob.id) == [bobs.row.id]
