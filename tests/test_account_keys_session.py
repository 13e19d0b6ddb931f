"""The account's key endpoints (/api/account/keys...) for a console session: the same rules as for an
API key, plus the CSRF token on every change; a signed-in user may manage every key of the account."""

import time

import httpx
import pytest

PASSWORD = "correct horse battery"


@pytest.fixture
def browser(demo_gateway):
    """A cookie-keeping HTTP client, signed up: (client, csrf token, account id, user id)."""
    with httpx.Client(base_url=demo_gateway.url + "/api", timeout=15) as client:
        me = client.post("/auth/signup", json={"email": f"keys-{time.monotonic_ns()}@example.com",
                                               "password": PASSWORD}).json()
        yield client, me["csrf_token"], me["account_id"], me["user_id"]


def test_a_session_manages_its_accounts_keys_with_the_csrf_token(browser, demo_gateway):
    client, csrf, account, user = browser
    headers = {"x-csrf-token": csrf}
    made = client.post("/account/keys", headers=headers, json={"name": "ci", "models": ["alltoken/demo"]})
    assert made.status_code == 201, made.text
    created = made.json()
    assert created["account_id"] == account and created["key"].startswith("atk_")
    listing = client.get("/account/keys").json()                 # a GET needs no CSRF token
    assert [k["id"] for k in listing] == [created["id"]] and created["key"] not in str(listing)
    assert client.get(f"/account/keys/{created['id']}").json()["name"] == "ci"

    rotated = client.post(f"/account/keys/{created['id']}/rotate", headers=headers, json={"grace_seconds": 0})
    assert rotated.status_code == 200 and rotated.json()["key"] != created["key"]
    assert demo_gateway.api("GET", "/account/keys", created["key"]).status_code == 401
    assert demo_gateway.api("GET", "/account/keys", rotated.json()["key"]).status_code == 200

    revoked = client.post(f"/account/keys/{created['id']}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert demo_gateway.api("GET", "/account/keys", rotated.json()["key"]).status_code == 401

    spare = client.post("/account/keys", headers=headers, json={}).json()
    everything = client.post("/account/keys/revoke-all", headers=headers, json={"keep_current": True})
    assert everything.status_code == 200 and everything.json()["revoked"] == [spare["id"]]   # no current key to keep

    audit = demo_gateway.cli("audit-log", "--target", account) + demo_gateway.cli("audit-log", "--target",
                                                                                  created["id"])
    mine = {e["action"] for e in audit if e["actor"] == f"user:{user}" and e["address"] == "127.0.0.1"
            and e["action"].startswith("keys.")}
    assert mine == {"keys.create", "keys.rotate", "keys.revoke", "keys.revoke-all"}


@pytest.mark.parametrize("header", [{}, {"x-csrf-token": "forged"}])
def test_changes_without_the_csrf_token_are_refused(browser, demo_gateway, header):
    client, csrf, account, _ = browser
    key = client.post("/account/keys", headers={"x-csrf-token": csrf}, json={"name": "live"}).json()
    for path, body in (("/account/keys", {"name": "forged"}), (f"/account/keys/{key['id']}/rotate", None),
                       (f"/account/keys/{key['id']}/revoke", None), ("/account/keys/revoke-all", None)):
        refused = client.post(path, headers=header, json=body)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed", path
    listing = client.get("/account/keys").json()
    assert [(k["name"], k["revoked_at"]) for k in listing] == [("live", None)]
    assert demo_gateway.api("GET", "/account/keys", key["key"]).status_code == 200


def test_without_a_session_or_key_nothing_is_reachable_and_other_accounts_stay_hidden(browser, demo_gateway):
    client, csrf, _, _ = browser
    with httpx.Client(base_url=demo_gateway.url + "/api", timeout=15) as stranger:
        for method, path in (("GET", "/account/keys"), ("POST", "/account/keys"), ("POST", "/account/keys/revoke-all")):
            refused = stranger.request(method, path, json={})
            assert refused.status_code == 401 and refused.json()["error"]["code"] == "not_signed_in"
    other_account, other_secret = demo_gateway.new_key("0")
    other_id = demo_gateway.api("GET", "/account/keys", other_secret).json()[0]["id"]
    for path in (f"/account/keys/{other_id}/rotate", f"/account/keys/{other_id}/revoke"):
        missing = client.post(path, headers={"x-csrf-token": csrf})
        assert missing.status_code == 404 and other_id in missing.json()["error"]["message"]
    assert client.get(f"/account/keys/{other_id}").status_code == 404
    assert other_id not in str(client.get("/account/keys").json())
    assert demo_gateway.api("GET", "/account/keys", other_secret).status_code == 200


def test_a_suspended_accounts_people_read_but_change_nothing(demo_gateway):
    with httpx.Client(base_url=demo_gateway.url + "/api", timeout=15) as browser:
        me = browser.post("/auth/signup", json={"email": f"held-{time.monotonic_ns()}@example.com",
                                                "password": "correct horse battery"}).json()
        demo_gateway.cli("accounts", "suspend", me["account_id"], "--reason", "abuse report")
        assert browser.get("/account/notices").status_code == 200
        refused = browser.post("/account/keys", json={"name": "x"}, headers={"x-csrf-token": me["csrf_token"]})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_suspended"
        assert "abuse report" in refused.json()["error"]["message"]
