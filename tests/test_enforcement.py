"""Enforcement states: active, warned, rate_limited, suspended, terminated; set from the CLI and the
management API, seen by every process within a second, kept as history, told to the account, audited."""

import sqlite3

import anthropic
import openai
import pytest

from alltoken.accounts.cache import AuthCache
from alltoken.accounts.keys import hash_key
from alltoken.accounts.service import create_account, create_key
from alltoken.errors import Conflict, NotFound
from alltoken.governance import notifications
from alltoken.governance.enforcement import history, notices, set_state
from alltoken.runtime.loaders import Loaders
from alltoken.store.db import session_factory
from alltoken.store.models import ApiKey

from .harness import CliError, everywhere, gateway_pair

CHAT = {"model": "alltoken/demo", "messages": [{"role": "user", "content": "hello"}]}


# The state machine, on SQLite and PostgreSQL.

async def test_states_are_kept_as_history_told_to_the_account_and_termination_is_final(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "enforced@example.com")
        key = await create_key(session, account.id)
    steps = [("warned", "spam reports"), ("warned", "more spam reports"), ("rate_limited", "bursts"),
             ("suspended", "unpaid invoice"), ("active", "paid"), ("terminated", "fraud")]
    for state, reason in steps:
        async with sessions.begin() as session:
            await set_state(session, account.id, state, reason, "cli:ops@host")
    async with sessions() as session:
        past = await history(session, account.id)
        seen = await notices(session, account.id)
        outbox = await notifications.unsent(session)
        revoked = (await session.get(ApiKey, key.row.id)).revoked_at
    assert [(a.previous_state, a.state, a.reason) for a in past] == [
        ("active", "warned", "spam reports"), ("warned", "warned", "more spam reports"),
        ("warned", "rate_limited", "bursts"), ("rate_limited", "suspended", "unpaid invoice"),
        ("suspended", "active", "paid"), ("active", "terminated", "fraud")]
    assert all(a.actor == "cli:ops@host" and a.created_at.tzinfo for a in past)
    assert seen["status"] == "terminated" and seen["status_reason"] == "fraud"
    assert [w["reason"] for w in seen["warnings"]] == ["spam reports", "more spam reports"]
    assert [n.kind for n in outbox] == [f"enforcement.{state}" for state, _ in steps]
    warning = outbox[0]
    assert warning.account_id == account.id and warning.sent_at is None
    assert "warning" in warning.subject.lower() and "Reason: spam reports" in warning.body
    assert revoked is not None
    for state in ("active", "suspended", "warned"):
        async with sessions.begin() as session:
            with pytest.raises(Conflict, match="terminated; that is final"):
                await set_state(session, account.id, state, "second chance", "cli:ops@host")
    async with sessions.begin() as session:
        with pytest.raises(Conflict, match="cannot have keys"):
            await create_key(session, account.id)


async def test_bad_changes_are_refused_and_change_nothing(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "careful@example.com")
    async with sessions.begin() as session:
        with pytest.raises(ValueError, match="reason"):
            await set_state(session, account.id, "suspended", "  ", "cli:ops@host")
        with pytest.raises(ValueError, match="unknown state"):
            await set_state(session, account.id, "banned", "x", "cli:ops@host")
        with pytest.raises(Conflict, match="already active"):
            await set_state(session, account.id, "active", "x", "cli:ops@host")
        with pytest.raises(Conflict, match="not suspended"):
            await set_state(session, account.id, "active", "x", "cli:ops@host", expect="suspended")
    async with sessions.begin() as session:
        await set_state(session, account.id, "suspended", "chargeback", "cli:ops@host")
    async with sessions.begin() as session:
        with pytest.raises(Conflict, match="a warning would lift that"):
            await set_state(session, account.id, "warned", "x", "cli:ops@host")
    async with sessions.begin() as session:
        with pytest.raises(NotFound):
            await set_state(session, "acct_missing", "warned", "x", "cli:ops@host")
    async with sessions() as session:
        assert [a.state for a in await history(session, account.id)] == ["suspended"]
        assert [n.kind for n in await notifications.unsent(session)] == ["enforcement.suspended"]


async def test_the_cached_account_carries_the_state_and_reason(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "cached@example.com")
        key = await create_key(session, account.id)
        await set_state(session, account.id, "suspended", "chargeback", "cli:ops@host")
    loaders = Loaders(sessions)
    _, record = await AuthCache(loaders.key, loaders.account).lookup(hash_key(key.secret))
    assert (record.status, record.status_reason) == ("suspended", "chargeback")


# End to end: two server processes on one database, the official SDKs, the CLI and the management API.

@pytest.fixture(scope="module")
def gateways(tmp_path_factory):
    with gateway_pair(tmp_path_factory.mktemp("enforcement")) as pair:
        yield pair



def served(gateway, key) -> bool:
    return gateway.sdk(key).chat.completions.create(**CHAT).choices[0].message.content is not None


def refusal(gateway, key) -> openai.APIStatusError | None:
    """The error a chat completion gets now (None when it is served)."""
    try:
        gateway.sdk(key).chat.completions.create(**CHAT)
    except openai.APIStatusError as exc:
        return exc
    return None


def refused_with(gateway, key, code: str) -> openai.APIStatusError | None:
    error = refusal(gateway, key)
    return error if error is not None and error.status_code == 403 and error.code == code else None



def notices_of(gateway, key) -> dict:
    response = gateway.api("GET", "/account/notices", key)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_state_through_the_api_in_both_processes_with_history_notices_and_audit(gateways, admin_key):
    first, second = gateways
    account, key = first.new_key()
    assert served(first, key) and served(second, key)  # both processes have the account cached now
    assert notices_of(second, key)["status"] == "active"

    first.cli("accounts", "warn", account, "--reason", "reported for spam")
    assert everywhere(gateways, lambda g: notices_of(g, key)["status"] == "warned")
    assert served(first, key) and served(second, key)
    shown = notices_of(second, key)
    assert shown["status_reason"] == "reported for spam"
    assert [w["reason"] for w in shown["warnings"]] == ["reported for spam"]
    assert "actor" not in str(shown) and "cli:" not in str(shown)
    assert _outbox(first, account) == [("enforcement.warned", "A warning about your AllToken account")]

    changed = first.api("POST", f"/admin/accounts/{account}/enforcement", admin_key,
                  json={"state": "rate_limited", "reason": "request bursts"})
    assert changed.status_code == 200 and changed.json()["previous_state"] == "warned", changed.text
    assert notices_of(first, key)["status"] == "rate_limited"   # at once in the process that took it
    assert everywhere(gateways, lambda g: notices_of(g, key)["status"] == "rate_limited")
    assert served(first, key) and served(second, key)

    first.cli("accounts", "suspend", account, "--reason", "unpaid invoice")
    assert everywhere(gateways, lambda g: refused_with(g, key, "account_suspended")), refusal(second, key)
    error = refused_with(second, key, "account_suspended")
    assert "suspended: unpaid invoice" in error.message and "contact support" in error.message
    with pytest.raises(anthropic.PermissionDeniedError, match="unpaid invoice"):
        second.anthropic_sdk(key).messages.create(model="alltoken/demo", max_tokens=16,
                                                  messages=[{"role": "user", "content": "hi"}])

    restored = first.api("POST", f"/admin/accounts/{account}/enforcement", admin_key,
                   json={"state": "active", "reason": "invoice paid"})
    assert restored.status_code == 200, restored.text
    assert everywhere(gateways, lambda g: refusal(g, key) is None)

    first.cli("accounts", "suspend", account, "--reason", "second unpaid invoice")
    assert everywhere(gateways, lambda g: refused_with(g, key, "account_suspended"))
    first.cli("accounts", "unsuspend", account, "--reason", "paid again")
    assert everywhere(gateways, lambda g: refusal(g, key) is None)

    first.cli("accounts", "terminate", account, "--reason", "card fraud")
    assert everywhere(gateways, lambda g: refused_with(g, key, "account_terminated"))
    error = refused_with(second, key, "account_terminated")
    assert "terminated: card fraud" in error.message and "cannot be restored" in error.message
    past = first.cli("accounts", "enforcement", account)  # history, read from the CLI
    assert [a["state"] for a in past] == ["warned", "rate_limited", "suspended", "active", "suspended", "active",
                                          "terminated"]
    assert _revoked_keys(first, account) == (1, 1)

    with pytest.raises(CliError, match="terminated; that is final"):
        first.cli("accounts", "unsuspend", account, "--reason", "please")
    undo = first.api("POST", f"/admin/accounts/{account}/enforcement", admin_key,
               json={"state": "active", "reason": "please"})
    assert undo.status_code == 409 and undo.json()["error"]["code"] == "conflict"
    with pytest.raises(CliError, match="cannot have keys"):
        first.cli("keys", "create", "--account", account)
    assert refused_with(second, key, "account_terminated")

    audited = [(e["action"], e["actor"].split(":")[0]) for e in first.cli("audit-log", "--target", account)]
    assert audited[:3] == [("accounts.create", "cli"), ("credits.grant", "cli"), ("keys.create", "cli")]
    assert audited[3:] == [("accounts.warn", "cli"), ("accounts.rate-limit", "key"), ("accounts.suspend", "cli"),
                           ("accounts.activate", "key"), ("accounts.suspend", "cli"), ("accounts.unsuspend", "cli"),
                           ("accounts.terminate", "cli")]
    by_api = [e for e in first.cli("audit-log", "--target", account) if e["actor"].startswith("key:")]
    assert all(e["address"] == "127.0.0.1" and e["details"]["reason"] for e in by_api)
    history_api = first.api("GET", f"/admin/accounts/{account}/enforcement", admin_key).json()
    assert [(h["previous_state"], h["state"]) for h in history_api][-1] == ("active", "terminated")
    assert history_api[1]["actor"].startswith("key:") and history_api[0]["actor"].startswith("cli:")


def test_changes_need_an_admin_a_known_state_a_reason_and_an_account(gateways, admin_key):
    first, _ = gateways
    account, key = first.new_key()
    path = f"/admin/accounts/{account}/enforcement"
    denied = first.api("POST", path, key, json={"state": "suspended", "reason": "x"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "admin_only"
    for body, status in (({"state": "banned", "reason": "x"}, 400), ({"state": "suspended"}, 400),
                         ({"state": "suspended", "reason": ""}, 400)):
        assert first.api("POST", path, admin_key, json=body).status_code == status
    missing = first.api("POST", "/admin/accounts/acct_missing/enforcement", admin_key,
                  json={"state": "warned", "reason": "x"})
    assert missing.status_code == 404 and "acct_missing" in missing.json()["error"]["message"]
    assert first.api("GET", path, admin_key).json() == []
    assert served(first, key)
    with pytest.raises(CliError) as caught:
        first.cli("accounts", "suspend", account)   # --reason is required
    assert caught.value.code == 2


def _outbox(gateway, account) -> list[tuple[str, str]]:
    with sqlite3.connect(gateway.db_path) as db:
        return db.execute("SELECT kind, subject FROM notifications WHERE account_id = ? AND sent_at IS NULL",
                          (account,)).fetchall()


def _revoked_keys(gateway, account) -> tuple[int, int]:
    with sqlite3.connect(gateway.db_path) as db:
        return db.execute("SELECT count(revoked_at), count(*) FROM api_keys WHERE account_id = ?",
                          (account,)).fetchone()
