"""POST /api/studio/key: the console Studio's short-lived API key. Sessions only, CSRF-checked; one live
Studio key per user (a new one revokes the previous), revoked at sign-out; other accounts unaffected."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

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


def test_a_studio_key_needs_the_terms_in_effect_accepted(browser, gateway):
    client, csrf, account, _ = browser
    version = f"studio-{time.monotonic_ns()}"
    gateway.cli("terms", "publish", "--version", version, "--effective", datetime.now(UTC).isoformat())
    refused = client.post("/studio/key", headers={"x-csrf-token": csrf}, json={})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "terms_not_accepted"
    assert version in refused.json()["error"]["message"]
    assert client.get("/account/keys").json() == []
    made = studio_key(client, csrf)
    assert made["terms_accepted"] == version
    assert chat(gateway, made["key"]).status_code == 200
