"""Terms of service: versions with effective dates, acceptance at registration and key creation, and a
material change that accounts must accept within the grace period."""

import sqlite3
from datetime import UTC, datetime, timedelta

import httpx
import openai
import pytest

from alltoken.accounts import terms
from alltoken.accounts.cache import AccountRecord
from alltoken.accounts.service import create_account
from alltoken.config import ConfigError, load_settings
from alltoken.errors import Conflict, NotFound, PermissionDenied
from alltoken.http.errors import shape
from alltoken.runtime.loaders import Loaders
from alltoken.runtime.scope import RESPONSE_HEADERS_KEY
from alltoken.runtime.terms_gate import WARNING_HEADER, TermsBook
from alltoken.store.db import session_factory

from .harness import Gateway, wait_for
from .session_helpers import add_owner, code_of

GRACE_SECONDS = 8
NOW = datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


# --- data layer (SQLite and PostgreSQL) ---------------------------------------------------------------------------

async def test_versions_take_effect_in_order_and_never_change(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await terms.publish(session, "2026-01", NOW - timedelta(days=10), url="https://example.com/terms/2026-01")
        await terms.publish(session, "2026-02", NOW - timedelta(days=1), material=True, summary="new section")
        await terms.publish(session, "2026-03", NOW + timedelta(days=5), material=True)
    for version, effective, error in (("2026-02", NOW + timedelta(days=9), Conflict),
                                      ("2025-12", NOW - timedelta(days=30), ValueError),
                                      ("2026-04", NOW + timedelta(days=5), ValueError),
                                      ("2026-05", datetime(2027, 1, 1), ValueError),
                                      ("", NOW + timedelta(days=9), ValueError)):
        with pytest.raises(error):
            async with sessions.begin() as session:
                await terms.publish(session, version, effective)
    async with sessions() as session:
        assert [v.version for v in await terms.versions(session)] == ["2026-01", "2026-02", "2026-03"]
        assert (await terms.current_version(session)).version == "2026-02"
        assert (await terms.current_version(session, NOW - timedelta(days=2))).version == "2026-01"
        assert (await terms.current_version(session, NOW + timedelta(days=6))).version == "2026-03"
        assert await terms.current_version(session, NOW - timedelta(days=11)) is None


async def test_acceptance_is_recorded_and_rides_on_the_cached_account(engine):
    sessions = session_factory(engine)
    loaders = Loaders(sessions)
    async with sessions.begin() as session:
        account = await create_account(session, "terms@example.com")
    async with sessions.begin() as session:
        with pytest.raises(NotFound, match="no terms of service are in effect"):
            await terms.accept(session, account.id)
        assert await terms.accepts_current(session, account.id)   # nothing to accept yet
        await terms.publish(session, "v1", NOW - timedelta(days=3), material=True)
        await terms.publish(session, "v2", NOW - timedelta(days=2))
    assert (await loaders.account(account.id)).terms_version is None
    async with sessions.begin() as session:
        assert not await terms.accepts_current(session, account.id)
        with pytest.raises(terms.TermsNotAccepted) as refused:
            await terms.require_current(session, account.id, accept_now=False)
        assert refused.value.version == "v2"
        accepted = await terms.require_current(session, account.id, accept_now=True)
    assert accepted.version == "v2" and accepted.accepted_at >= NOW and not accepted.image_uploads
    async with sessions.begin() as session:
        assert await terms.require_current(session, account.id, accept_now=True) is None   # already accepted
        await terms.publish(session, "v3", NOW - timedelta(hours=1))
        await terms.accept(session, account.id)
    record = await loaders.account(account.id)
    assert record.terms_version == "v3"
    async with sessions() as session:
        assert [a.version for a in await terms.acceptances_of(session, account.id)] == ["v2", "v3"]
        acceptance, version = await terms.latest_acceptance(session, account.id)
        assert version.version == "v3" and acceptance.account_id == account.id


async def test_the_gate_warns_in_grace_refuses_after_and_spares_administrators(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await terms.publish(session, "old", NOW - timedelta(days=30), material=True)
        await terms.publish(session, "minor", NOW - timedelta(days=20))
        await terms.publish(session, "recent", NOW - timedelta(hours=1), material=True, url="https://example.com/t")
        await terms.publish(session, "future", NOW + timedelta(days=3), material=True)
    book = TermsBook(sessions, grace_days=1)
    await book.refresh()

    def check(accepted: str | None, is_admin: bool = False) -> list:
        scope = {}
        book.check(AccountRecord(id="acct_x", status="active", status_reason=None, is_admin=is_admin,
                                 terms_version=accepted), scope)
        return scope.get(RESPONSE_HEADERS_KEY, [])

    with pytest.raises(PermissionDenied) as refused:
        check(None)           # never accepted: "old" was due 29 days ago
    assert shape(refused.value).status == 403 and refused.value.code == "terms_not_accepted"
    assert "version old" in refused.value.message and "alltoken terms accept --account acct_x" in refused.value.message
    with pytest.raises(PermissionDenied):
        check("unknown-version")
    [(name, value)] = check("old")   # "minor" is not material; "recent" is within its grace day
    assert name == WARNING_HEADER and b'version="recent"' in value and b"accept-by=" in value
    assert check("minor") == check("old")
    assert check("recent") == [] and check("future") == []
    assert check(None, is_admin=True) == []
    owed = book.owed(None, NOW)
    assert owed.version == "old" and owed.deadline == NOW - timedelta(days=29)
    assert book.owed(NOW - timedelta(days=30), NOW).version == "recent"
    assert book.owed(NOW - timedelta(hours=1), NOW + timedelta(days=4)).version == "future"


@pytest.mark.parametrize("text,message", [
    ("terms: {grace_days: 0}", "terms.grace_days"),
    ("terms: {grace_days: soon}", "terms.grace_days"),
    ("terms: {grace: 3}", "expected a mapping"),
    ("retention: {ledger_days: -1}", "retention.ledger_days"),
    ("retention: {purge_interval_seconds: true}", "retention.purge_interval_seconds"),
])
def test_grace_and_retention_settings_are_checked(tmp_path, text, message):
    path = tmp_path / "alltoken.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(str(path), env={})


def test_grace_and_retention_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.terms.grace_days == 30 and settings.retention.ledger_days == 2555
    assert settings.retention.purge_interval_seconds == 3600


# --- end to end -----------------------------------------------------------------------------------------------------

@pytest.fixture
def gateway(tmp_path):
    gateway = Gateway(tmp_path, {"terms": {"grace_days": GRACE_SECONDS / 86400}}).start()
    yield gateway
    gateway.stop()


def chat(gateway: Gateway, key: str):
    """A completion through the official SDK, with the response headers."""
    return gateway.sdk(key).chat.completions.with_raw_response.create(
        model="alltoken/demo", messages=[{"role": "user", "content": "hello"}])


def refusal(gateway: Gateway, key: str) -> openai.PermissionDeniedError | None:
    try:
        chat(gateway, key)
    except openai.PermissionDeniedError as refused:
        return refused
    return None


def api(gateway: Gateway, method: str, path: str, key: str, **kwargs) -> httpx.Response:
    return httpx.request(method, gateway.url + "/api" + path, headers={"Authorization": f"Bearer {key}"}, **kwargs)


def acceptances(gateway: Gateway, account: str) -> list[tuple[str, str]]:
    with sqlite3.connect(gateway.db_path) as db:
        return db.execute("SELECT version, accepted_at FROM terms_acceptances WHERE account_id = ? ORDER BY id",
                          (account,)).fetchall()


def account_with_key(gateway: Gateway, *create_flags: str) -> tuple[str, str]:
    account = gateway.cli("accounts", "create", "--email", f"t-{datetime.now().timestamp()}@example.com",
                          *create_flags)
    gateway.cli("credits", "grant", "--account", account["id"], "--usd", "5")
    return account["id"], gateway.cli("keys", "create", "--account", account["id"])["key"]


def test_a_material_change_is_served_in_grace_refused_after_and_served_again_once_accepted(gateway):
    gateway.cli("terms", "publish", "--version", "v1", "--effective", iso(NOW - timedelta(days=1)), "--material",
                "--url", "https://example.com/terms/v1")
    alice, alice_key = account_with_key(gateway, "--accept-terms")
    bob, bob_key = account_with_key(gateway)
    assert [version for version, _ in acceptances(gateway, alice)] == ["v1"]   # recorded at registration
    assert "x-alltoken-terms-warning" not in chat(gateway, alice_key).headers
    refused = wait_for(lambda: refusal(gateway, bob_key))   # never accepted, v1's grace long over (once served)
    assert refused is not None and refused.code == "terms_not_accepted" and "version v1" in refused.message

    gateway.cli("terms", "publish", "--version", "v2", "--effective", iso(datetime.now(UTC)), "--material")
    warned = wait_for(lambda: chat(gateway, alice_key).headers.get("x-alltoken-terms-warning"))
    assert warned and 'version="v2"' in warned and "accept-by=" in warned   # still served, with a warning
    status = api(gateway, "GET", "/terms", alice_key).json()
    assert status["current"]["version"] == "v2" and status["accepted_version"] == "v1"
    assert not status["accepts_current"] and status["must_accept_by"]

    refused = wait_for(lambda: refusal(gateway, alice_key), timeout=GRACE_SECONDS + 5)
    assert refused is not None and refused.status_code == 403 and refused.code == "terms_not_accepted"
    assert "version v2" in refused.message and "POST /api/terms/accept" in refused.message
    assert f"alltoken terms accept --account {alice}" in refused.message

    assert code_of(api(gateway, "POST", "/terms/accept", alice_key)) == "session_required"   # the owner accepts
    accepted = add_owner(gateway, alice, f"alice-{NOW.timestamp()}@example.com").reauthenticate().send(
        "POST", "/terms/accept")
    assert accepted.status_code == 200 and accepted.json()["version"] == "v2"
    served = chat(gateway, alice_key)
    assert served.parse().choices[0].message.content and "x-alltoken-terms-warning" not in served.headers
    assert api(gateway, "GET", "/terms", alice_key).json()["must_accept_by"] is None

    assert [(v["version"], v["material"]) for v in gateway.cli("terms", "list")] == [("v1", True), ("v2", True)]
    gateway.cli("terms", "accept", "--account", bob)
    assert wait_for(lambda: refusal(gateway, bob_key) is None)
    assert [version for version, _ in acceptances(gateway, bob)] == ["v2"]

    audit = gateway.cli("audit-log")
    published = [e for e in audit if e["action"] == "terms.publish"]
    assert [e["target"] for e in published] == ["terms:v1", "terms:v2"] and published[0]["details"]["material"]
    accepts = {e["target"]: e for e in audit if e["action"] == "terms.accept"}
    assert accepts[alice]["actor"].startswith("user:") and accepts[alice]["address"] == "127.0.0.1"
    assert accepts[alice]["details"] == {"version": "v2"} and accepts[bob]["actor"].startswith("cli:")
    assert any(e["action"] == "accounts.create" and e["target"] == alice and e["details"]["accept_terms"]
               for e in audit)


def test_creating_a_key_through_the_api_requires_the_current_terms(gateway):
    carol, carol_key = account_with_key(gateway)
    owner = add_owner(gateway, carol, f"carol-{NOW.timestamp()}@example.com").reauthenticate()
    assert code_of(owner.send("POST", "/terms/accept")) == "no_terms"
    assert api(gateway, "POST", "/account/keys", carol_key, json={"name": "before terms"}).status_code == 201

    admin = gateway.admin_key()
    assert api(gateway, "POST", "/admin/terms", carol_key,
               json={"version": "v1", "effective_at": iso(NOW)}).json()["error"]["code"] == "admin_only"
    published = api(gateway, "POST", "/admin/terms", admin, json={
        "version": "v1", "effective_at": iso(NOW - timedelta(hours=1)), "url": "https://example.com/terms"})
    assert published.status_code == 201 and published.json()["material"] is False
    duplicate = api(gateway, "POST", "/admin/terms", admin, json={"version": "v1", "effective_at": iso(NOW)})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "version_exists"
    earlier = api(gateway, "POST", "/admin/terms", admin,
                  json={"version": "v0", "effective_at": iso(NOW - timedelta(days=9))})
    assert earlier.status_code == 400 and "must take effect after version v1" in earlier.json()["error"]["message"]
    naive = api(gateway, "POST", "/admin/terms", admin, json={"version": "v9", "effective_at": "2030-01-01T00:00:00"})
    assert naive.status_code == 400
    assert [v["version"] for v in api(gateway, "GET", "/admin/terms", admin).json()] == ["v1"]

    refused = api(gateway, "POST", "/account/keys", carol_key, json={"name": "ci"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "terms_not_accepted"
    assert '"accept_terms": true' in refused.json()["error"]["message"]
    assert "x-alltoken-terms-warning" not in chat(gateway, carol_key).headers   # a change that is not material

    with_key = api(gateway, "POST", "/account/keys", carol_key, json={"name": "ci", "accept_terms": True})
    assert code_of(with_key) == "session_required"              # accepting the terms is the owner's, signed in
    created = owner.send("POST", "/account/keys", {"name": "ci", "accept_terms": True, "limit_usd": "2"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["terms_accepted"] == "v1" and body["limit_usd"] == "2.000000" and body["account_id"] == carol
    assert chat(gateway, body["key"]).parse().choices[0].message.content
    assert [version for version, _ in acceptances(gateway, carol)] == ["v1"]
    again = api(gateway, "POST", "/account/keys", carol_key, json={})
    assert again.status_code == 201 and again.json()["terms_accepted"] is None
    naive_expiry = {"expires_at": "2030-01-01T00:00:00"}
    assert api(gateway, "POST", "/account/keys", carol_key, json=naive_expiry).status_code == 400
    assert api(gateway, "POST", "/account/keys", carol_key, json={"limit_usd": "-1"}).status_code == 400
    assert api(gateway, "POST", "/account/keys", admin, json={}).status_code == 201   # administrators are exempt

    dave = gateway.cli("accounts", "create", "--email", "dave@example.com")["id"]
    assert gateway.cli("keys", "create", "--account", dave)["terms_accepted"] is None   # the CLI does not insist
    assert gateway.cli("keys", "create", "--account", dave, "--accept-terms")["terms_accepted"] == "v1"
    assert gateway.cli("keys", "create", "--account", dave, "--accept-terms")["terms_accepted"] is None
    assert [version for version, _ in acceptances(gateway, dave)] == ["v1"]

    audit = gateway.cli("audit-log")
    assert any(e["action"] == "terms.publish" and e["actor"].startswith("key:") and e["target"] == "terms:v1"
               for e in audit)
    made = [e for e in audit if e["action"] == "keys.create" and e["details"].get("key_id") == body["id"]]
    assert made and made[0]["target"] == carol and made[0]["address"] == "127.0.0.1"
    assert any(e["action"] == "terms.accept" and e["target"] == carol and e["actor"] == f"user:{owner.user_id}"
               for e in audit)
