"""An API key limited by models, spend, IP or expiry could delete the whole account, download its export,
redirect the low-balance email and give the image-upload warranty, and a team admin's key could delete the
team (issue 14, defect 5). Now deletion, export, where alerts go, terms and warranties need the owner signed
in to the console who confirmed their password within minutes, never a key; what an unrestricted key did
that is not of that kind stays open to it (accounts/roles.py)."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from .harness import Gateway
from .session_helpers import Console, code_of, console_team, member_key

REDIRECT = "attacker@example.net"
TERMS = "2020-01"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    started = Gateway(tmp_path_factory.mktemp("owner-actions")).start()
    started.cli("terms", "publish", "--version", TERMS, "--effective", "2020-01-01T00:00:00Z")
    yield started
    started.stop()


@pytest.fixture
def owner(gateway):
    """A signed-in user whose personal account has credit and accepted the terms (by the operator)."""
    person = Console(gateway)
    gateway.cli("credits", "grant", "--account", person.own_account, "--usd", "1")
    gateway.cli("terms", "accept", "--account", person.own_account)
    return person


KEY_KINDS = {
    "unrestricted": (),
    "models": ("--models", "alltoken/demo"),
    "spend": ("--limit-usd", "1"),
    "ip": ("--ips", "127.0.0.1/32"),
    "expiry": ("--expires", (datetime.now(UTC) + timedelta(days=1)).isoformat()),
}


def new_key(gateway, account: str, kind: str) -> dict:
    return gateway.cli("keys", "create", "--account", account, *KEY_KINDS[kind])


CONFIRMED_ACTIONS = [("POST", "/account/delete", "CONFIRM"), ("GET", "/account/export", None),
                     ("PUT", "/billing/alerts", {"low_balance_usd": "1", "email": REDIRECT}),
                     ("POST", "/terms/image-uploads", None), ("POST", "/terms/accept", None)]


def body_for(body, account: str):
    return {"confirm": account} if body == "CONFIRM" else body


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_no_key_deletes_exports_redirects_alerts_or_gives_the_warranty(gateway, owner, kind):
    key = new_key(gateway, owner.own_account, kind)["key"]
    for method, path, body in CONFIRMED_ACTIONS:
        refused = gateway.api(method, path, key, json=body_for(body, owner.own_account))
        # (setting an alert at all is refused to a restricted key first)
        expected = "key_management_not_allowed" if kind != "unrestricted" and method == "PUT" else "session_required"
        assert (refused.status_code, code_of(refused)) == (403, expected), (path, refused.text)
    assert gateway.api("GET", "/account/notices", key).json()["status"] == "active"
    alert = gateway.api("GET", "/billing/alerts", key).json()
    assert alert["email"] == owner.email and alert["low_balance_usd"] is None
    assert gateway.api("GET", "/terms/image-uploads", key).json()["image_uploads"] is False


@pytest.mark.parametrize("kind", [kind for kind in KEY_KINDS if kind != "unrestricted"])
def test_a_restricted_key_only_reads_and_rotates_or_revokes_itself(gateway, owner, kind):
    made = new_key(gateway, owner.own_account, kind)
    other = new_key(gateway, owner.own_account, "unrestricted")
    for method, path, body in (("POST", "/account/keys", {}), ("PUT", "/billing/alerts", {"low_balance_usd": "1"}),
                               ("PUT", "/billing/auto-topup", {"enabled": False, "threshold_usd": "1",
                                                               "amount_usd": "10"}),
                               ("POST", "/billing/checkout", {"amount_usd": "10"}),
                               ("POST", "/billing/redeem", {"code": "NOPE"}),
                               ("PUT", "/account/routing", {}),
                               ("POST", f"/account/keys/{other['id']}/revoke", None),
                               ("POST", "/account/keys/revoke-all", None)):
        refused = gateway.api(method, path, made["key"], json=body)
        assert (refused.status_code, code_of(refused)) == (403, "key_management_not_allowed"), (path, refused.text)
    assert gateway.api("GET", "/usage/summary", made["key"]).status_code == 200
    rotated = gateway.api("POST", f"/account/keys/{made['id']}/rotate", made["key"], json={"grace_seconds": 0})
    assert rotated.status_code == 200
    assert gateway.api("POST", f"/account/keys/{made['id']}/revoke", rotated.json()["key"]).status_code == 200


def test_an_unrestricted_key_still_makes_and_revokes_keys_sets_thresholds_and_reads_usage(gateway, owner):
    key = new_key(gateway, owner.own_account, "unrestricted")["key"]
    made = gateway.api("POST", "/account/keys", key, json={"name": "ci"})
    assert made.status_code == 201
    assert gateway.api("POST", f"/account/keys/{made.json()['id']}/revoke", key).status_code == 200
    threshold = gateway.api("PUT", "/billing/alerts", key, json={"low_balance_usd": "0.5"})
    assert threshold.status_code == 200 and threshold.json()["email"] == owner.email
    own_address = gateway.api("PUT", "/billing/alerts", key, json={"low_balance_usd": "0.5", "email": owner.email})
    assert own_address.status_code == 200          # the account's own address is no redirection
    for path in ("/usage/summary", "/usage/generations", "/billing/transactions", "/account/keys"):
        assert gateway.api("GET", path, key).status_code == 200, path


def test_the_owner_does_them_from_the_console_after_confirming_the_password(gateway, owner):
    key = new_key(gateway, owner.own_account, "unrestricted")["key"]
    for method, path, body in CONFIRMED_ACTIONS:
        refused = owner.send(method, path, body_for(body, owner.own_account))
        assert (refused.status_code, code_of(refused)) == (403, "reauthentication_required"), (path, refused.text)
    wrong = owner.send("POST", "/auth/reauthenticate", {"password": "not the password"})
    assert (wrong.status_code, code_of(wrong), wrong.json()["error"]["param"]) == (400, "wrong_credentials", "password")
    assert owner.send("GET", "/account/export").status_code == 403

    confirmed = owner.send("POST", "/auth/reauthenticate", {"password": owner.password})
    assert confirmed.status_code == 200 and datetime.fromisoformat(confirmed.json()["confirmed_until"]) > \
        datetime.now(UTC) + timedelta(minutes=5)
    export = owner.get("/account/export")
    assert export.status_code == 200 and export.json()["account"]["id"] == owner.own_account
    assert owner.send("PUT", "/billing/alerts", {"low_balance_usd": "1", "email": REDIRECT}).json()["email"] == REDIRECT
    assert owner.send("POST", "/terms/image-uploads").json()["image_uploads"] is True
    assert owner.send("POST", "/terms/accept").json()["version"] == TERMS
    deleted = owner.send("POST", "/account/delete", {"confirm": owner.own_account})
    assert deleted.status_code == 200, deleted.text
    assert gateway.api("GET", "/account/notices", key).status_code == 401
    actions = [entry["action"] for entry in gateway.cli("audit-log", "--target", owner.own_account)]
    assert "auth.reauthenticate_failed" in actions and "auth.reauthenticate" in actions


def test_only_the_teams_owner_deletes_the_team_from_the_console(gateway):
    team, people = console_team(gateway, admin="admin")
    admin_key = member_key(gateway, team, people["admin"])["key"]
    for key, code in ((admin_key, "role_forbidden"), (member_key(gateway, team, people["owner"])["key"],
                                                      "session_required")):
        refused = gateway.api("POST", "/account/delete", key, json={"confirm": team})
        assert (refused.status_code, code_of(refused)) == (403, code)
    refused = people["admin"].reauthenticate().send("POST", "/account/delete", {"confirm": team})
    assert (refused.status_code, code_of(refused)) == (403, "role_forbidden")
    assert "needs the role owner" in refused.json()["error"]["message"]
    deleted = people["owner"].reauthenticate().send("POST", "/account/delete", {"confirm": team})
    assert deleted.status_code == 200 and deleted.json()["account_id"] == team
    assert gateway.api("GET", "/team", admin_key).status_code == 401
    assert people["owner"].get("/auth/me").json()["account_id"] == people["owner"].own_account


def test_confirming_the_password_is_throttled_like_signing_in(gateway):
    person = Console(gateway)
    for _ in range(5):
        assert person.send("POST", "/auth/reauthenticate", {"password": "wrong guess"}).status_code == 400
    throttled = person.send("POST", "/auth/reauthenticate", {"password": person.password})
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert code_of(throttled) == "sign_in_throttled"
    assert httpx.post(gateway.url + "/api/auth/reauthenticate", json={"password": "x"}).status_code == 401
