"""Account export and deletion: the owner gets everything held about the account, and deletion leaves
only what accounting and the law need, for as long as they need it."""

import asyncio
import secrets
import sqlite3
from datetime import UTC, datetime, timedelta

import httpx
import openai
import orjson
import pytest
from sqlalchemy import insert, select

from alltoken import audit
from alltoken.accounts import terms
from alltoken.accounts.export import export_account
from alltoken.accounts.service import create_account, create_key
from alltoken.billing import ledger
from alltoken.errors import Conflict
from alltoken.governance.deletion import ERASED_PASSWORD, delete_account, tombstone_email
from alltoken.governance.retention import purge_expired
from alltoken.money import usd_to_units
from alltoken.store.changes import changes_after
from alltoken.store.db import session_factory
from alltoken.store.models import Account, AccountDeletion, ApiKey, LedgerEntry, TermsAcceptance, UsageRecord, User

from .harness import CliError, Gateway, wait_for
from .session_helpers import add_owner

NOW = datetime.now(UTC)
CANARY = "canary-prompt-7f3a"   # prompt text: it must appear nowhere we keep or export


# --- data layer (SQLite and PostgreSQL) ---------------------------------------------------------------------------

def usage(record_id: str, account_id: str, key_id: str | None, cost: int = 100) -> dict:
    return {"id": record_id, "account_id": account_id, "key_id": key_id, "model": "alltoken/demo",
            "endpoint": "chat", "status": "ok", "http_status": 200, "cost_units": cost, "prompt_tokens": 3,
            "completion_tokens": 5, "created_at": NOW}


def user(user_id: str, account_id: str, email: str, password_hash: str = "x", is_admin: bool = False) -> User:
    return User(id=user_id, account_id=account_id, email=email, password_hash=password_hash, is_admin=is_admin,
                created_at=NOW)


async def test_deletion_erases_personal_data_and_keeps_what_accounting_needs(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "Erase.Me@example.com", "Erin Example")
        await session.flush()
        session.add(user("user_erin", account.id, "erin@example.com", "$argon2id$v=19$secret-hash"))
        named = (await create_key(session, account.id, name="erin's laptop")).row
        revoked_before = (await create_key(session, account.id)).row
        await ledger.grant(session, account.id, "3", note="welcome")
        await terms.publish(session, "v1", NOW - timedelta(days=1))
        await terms.accept(session, account.id)
    async with sessions.begin() as session:
        revoked_before.revoked_at = NOW - timedelta(hours=1)
        session.add(revoked_before)
        await session.execute(insert(UsageRecord), [usage("gen-d1", account.id, named.id),
                                                    usage("gen-d2", account.id, revoked_before.id)])
        cursor = max([0, *(event_id for event_id, *_ in await changes_after(session, 0))])
    async with sessions.begin() as session:
        deletion = await delete_account(session, account.id, reason="owner's request of 2026-11-20")
    assert sorted(deletion.key_ids) == sorted([named.id, revoked_before.id])

    async with sessions() as session:
        row = await session.get(Account, account.id)
        assert (row.email, row.name, row.status) == (tombstone_email(account.id), None, "deleted")
        erased = await session.get(User, "user_erin")
        assert (erased.email, erased.password_hash) == (tombstone_email("user_erin"), ERASED_PASSWORD)
        keys = (await session.scalars(select(ApiKey).where(ApiKey.account_id == account.id))).all()
        assert all(k.revoked_at is not None and k.name is None for k in keys)
        assert next(k for k in keys if k.id == revoked_before.id).revoked_at == NOW - timedelta(hours=1)
        records = (await session.scalars(select(UsageRecord).order_by(UsageRecord.id))).all()
        assert [(r.id, r.account_id, r.key_id, r.cost_units) for r in records] == [
            ("gen-d1", account.id, None, 100), ("gen-d2", account.id, None, 100)]
        assert await ledger.balance_units(session, account.id) == 3 * 10**12      # kept for retention
        assert len(await terms.acceptances_of(session, account.id)) == 1
        assert (await session.get(AccountDeletion, account.id)).deleted_at == deletion.deleted_at
        changed = {(entity, entity_id) for _, entity, entity_id in await changes_after(session, cursor)}
        assert changed == {("key", named.id), ("key", revoked_before.id), ("account", account.id)}
        found = await session.execute(select(Account.id).where(Account.email.in_(["erase.me@example.com"])))
        assert found.first() is None
    async with sessions.begin() as session:   # the unique emails are free again
        again = await create_account(session, "erase.me@example.com")
        session.add(user("user_erin2", again.id, "erin@example.com"))
    with pytest.raises(Conflict, match="already deleted"):
        async with sessions.begin() as session:
            await delete_account(session, account.id)


async def test_an_administrators_account_cannot_be_deleted(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "root@example.com")
        await session.flush()
        session.add(user("user_root", account.id, "root@example.com", is_admin=True))
    with pytest.raises(ValueError, match="administrator"):
        async with sessions.begin() as session:
            await delete_account(session, account.id)


async def test_retention_purges_a_deleted_accounts_old_entries_once_across_processes(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        gone = await create_account(session, "gone@example.com")
        living = await create_account(session, "living@example.com")
        await session.flush()
        key = (await create_key(session, gone.id)).row
        rows = [(living.id, 400), (gone.id, 400), (gone.id, 40), (gone.id, 4)]   # ages in days, oldest id first
        await session.execute(insert(LedgerEntry), [
            {"account_id": owner, "kind": "topup", "amount_units": 10**12, "created_at": NOW - timedelta(days=age)}
            for owner, age in rows])
        session.add(TermsAcceptance(account_id=gone.id, version="v0", image_uploads=False,
                                    accepted_at=NOW - timedelta(days=400)))
    async with sessions.begin() as session:
        await delete_account(session, gone.id, now=NOW)
    async with sessions.begin() as session:   # a request in flight at deletion, recorded just after it
        await session.execute(insert(UsageRecord), [usage("gen-late", gone.id, key.id)])

    async def purge(days: float = 30) -> dict:
        async with sessions.begin() as session:
            return await purge_expired(session, ledger_days=days, now=NOW)

    first, second = await asyncio.gather(purge(), purge())   # two servers at the same moment
    assert {**first, **second} == {gone.id: {"ledger_entries": 2, "terms_acceptances": 1}}
    assert not (first and second)
    async with sessions() as session:
        left = (await session.execute(select(LedgerEntry.account_id, LedgerEntry.created_at)
                                      .order_by(LedgerEntry.id))).all()
        assert [(owner, round((NOW - at) / timedelta(days=1))) for owner, at in left] == [
            (living.id, 400), (gone.id, 4)]      # a living account's ledger is never purged
        assert (await session.get(UsageRecord, "gen-late")).key_id is None
        assert await terms.acceptances_of(session, gone.id) == []
        entries = [e for e in await audit.entries(session, target=gone.id) if e["action"] == "retention.purge"]
        assert len(entries) == 1 and entries[0]["actor"] == "system"
        assert entries[0]["details"] == {"ledger_entries": 2, "terms_acceptances": 1, "retention_days": 30}
    assert await purge() == {}
    # Its last entry is past a 3-day retention, but it is the newest of the whole ledger: SQLite would hand
    # its id out again, and servers follow the ledger by id. A newer entry anywhere lets it go.
    assert await purge(days=3) == {}
    async with sessions.begin() as session:
        await ledger.grant(session, living.id, "1")
    assert await purge(days=3) == {gone.id: {"ledger_entries": 1}}


async def test_the_export_streams_every_section_as_one_json_document(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "many@example.com", "Many")
        other = await create_account(session, "other@example.com")
        await session.flush()
        key = (await create_key(session, account.id, name="batch")).row
        await ledger.grant(session, account.id, "2", note="first")
        await session.execute(insert(UsageRecord), [usage(f"gen-m{n:04}", account.id, key.id, cost=n)
                                                    for n in range(1203)] + [usage("gen-other", other.id, None)])
        await audit.record(session, "cli:ops@host", "credits.grant", account.id, {"usd": "2"})
        await audit.record(session, f"key:{key.id}", "terms.accept", "acct_elsewhere")
        await audit.record(session, "cli:ops@host", "credits.grant", other.id)
    document = orjson.loads(b"".join([chunk async for chunk in export_account(sessions, account.id)]))
    assert document["account"]["email"] == "many@example.com" and document["account"]["name"] == "Many"
    assert [k["name"] for k in document["keys"]] == ["batch"] and document["users"] == []
    assert [(e["amount_usd"], e["note"]) for e in document["ledger_entries"]] == [("2.000000", "first")]
    records = document["usage_records"]
    assert len(records) == 1203 and {r["id"] for r in records} == {f"gen-m{n:04}" for n in range(1203)}
    assert sum(usd_to_units(r["cost_usd"]) for r in records) == sum(range(1203))
    assert [(e["action"], e["target"]) for e in document["audit_entries"]] == [
        ("credits.grant", account.id), ("terms.accept", "acct_elsewhere")]   # about it, or done with its key


# --- end to end ---------------------------------------------------------------------------------------------------

def password_hash_of(gateway: Gateway, user_id: str) -> str:
    with sqlite3.connect(gateway.db_path) as db:
        return db.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()[0]


def chat(gateway: Gateway, key: str) -> str:
    response = gateway.sdk(key).chat.completions.with_raw_response.create(
        model="alltoken/demo", messages=[{"role": "user", "content": f"say {CANARY}"}])
    return response.headers["x-request-id"]


def unauthorized(gateway: Gateway, key: str) -> bool:
    try:
        chat(gateway, key)
    except openai.AuthenticationError:
        return True
    return False


def key_refused(gateway: Gateway, key: str) -> bool:
    """A cheap authenticated request (no upstream call), for polling."""
    return httpx.get(gateway.url + "/v1/key", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def api(gateway: Gateway, method: str, path: str, key: str, **kwargs) -> httpx.Response:
    return httpx.request(method, gateway.url + "/api" + path, headers={"Authorization": f"Bearer {key}"},
                         timeout=30, **kwargs)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("deletion")).start()
    yield gateway
    gateway.stop()


def test_the_export_holds_everything_about_the_account_and_no_secret(gateway):
    email = f"export-{secrets.token_hex(3)}@example.com"
    account = gateway.cli("accounts", "create", "--email", email, "--name", "Ex Porter")["id"]
    owner = add_owner(gateway, account, email)
    user_id, password_hash = owner.user_id, password_hash_of(gateway, owner.user_id)
    gateway.cli("credits", "grant", "--account", account, "--usd", "4", "--note", "welcome")
    first = gateway.cli("keys", "create", "--account", account, "--name", "laptop", "--limit-usd", "2")
    second = gateway.cli("keys", "create", "--account", account)
    requests = [chat(gateway, first["key"]), chat(gateway, second["key"])]
    other_account, other_key = gateway.new_key()
    other_request = chat(gateway, other_key)
    wait_for(lambda: len(gateway.recorded_statuses(account)) == 2)

    assert api(gateway, "GET", "/account/export", first["key"]).status_code == 403    # the owner's, signed in
    response = owner.reauthenticate().get("/account/export")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert account in response.headers["content-disposition"]
    text, document = response.text, response.json()
    for secret in (first["key"], second["key"], password_hash, CANARY, other_account, other_request):
        assert secret not in text
    with sqlite3.connect(gateway.db_path) as db:
        hashes = [h for (h,) in db.execute("SELECT secret_hash FROM api_keys WHERE account_id = ?", (account,))]
    assert hashes and not any(h in text for h in hashes)

    assert document["account"]["id"] == account and document["account"]["email"] == email
    assert document["account"]["name"] == "Ex Porter" and document["exported_at"]
    assert document["users"] == [{"id": user_id, "email": email, "is_admin": False,
                                  "created_at": document["users"][0]["created_at"]}]
    keys = {k["id"]: k for k in document["keys"]}
    assert set(keys) == {first["id"], second["id"]} and keys[first["id"]]["name"] == "laptop"
    assert keys[first["id"]]["limit_usd"] == "2.000000" and keys[first["id"]]["hint"].startswith("atk_")
    assert not {"key", "secret", "secret_hash"} & set(keys[first["id"]])
    assert [(e["kind"], e["amount_usd"], e["note"]) for e in document["ledger_entries"]][0] == (
        "topup", "4.000000", "welcome")
    assert sorted(r["id"] for r in document["usage_records"]) == sorted(requests)
    record = document["usage_records"][0]
    assert record["model"] == "alltoken/demo" and record["prompt_tokens"] > 0 and record["cost_usd"]
    assert record["key_id"] in keys and record["created_at"]
    assert document["terms_acceptances"] == []
    actions = {(e["action"], e["target"]) for e in document["audit_entries"]}
    assert {("accounts.create", account), ("credits.grant", account), ("keys.create", account),
            ("account.export", account)} <= actions
    audit_log = gateway.cli("audit-log", "--target", account)
    assert any(e["action"] == "account.export" and e["actor"] == f"user:{user_id}" for e in audit_log)


def test_deletion_revokes_keys_everywhere_at_once_and_erases_personal_data(gateway):
    email, name = f"erase-{secrets.token_hex(4)}@example.com", f"Name-{secrets.token_hex(4)}"
    account = gateway.cli("accounts", "create", "--email", email, "--name", name)["id"]
    owner = add_owner(gateway, account, email).reauthenticate()
    password_hash = password_hash_of(gateway, owner.user_id)
    gateway.cli("credits", "grant", "--account", account, "--usd", "5")
    keys = [gateway.cli("keys", "create", "--account", account, "--name", f"{name}-laptop")["key"]
            for _ in range(2)]
    alert_email = f"alerts-{secrets.token_hex(4)}@example.com"
    alert = owner.send("PUT", "/billing/alerts", {"low_balance_usd": "1", "email": alert_email})
    assert alert.status_code == 200, alert.text
    second = Gateway(gateway.workdir).start()   # another process on the same database
    try:
        served = [chat(gateway, keys[0]), chat(second, keys[1])]   # both processes have the keys cached
        assert wait_for(lambda: len(gateway.recorded_statuses(account)) == 2)

        wrong = owner.send("POST", "/account/delete", {"confirm": "yes"})
        assert wrong.status_code == 400 and account in wrong.json()["error"]["message"]
        assert owner.send("POST", "/account/delete", {}).status_code == 400
        deleted = owner.send("POST", "/account/delete", {"confirm": account})
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["keys_revoked"] == 2 and deleted.json()["ledger_retention_days"] == 2555

        assert unauthorized(gateway, keys[0]) and unauthorized(gateway, keys[1])   # this process: at once
        assert wait_for(lambda: key_refused(second, keys[1]) and key_refused(second, keys[0]), timeout=1.0,
                        interval=0.02)
        assert unauthorized(second, keys[1])
        assert api(gateway, "GET", "/account/export", keys[1]).status_code == 401
    finally:
        second.stop()

    with sqlite3.connect(gateway.db_path) as db:
        usage = db.execute("SELECT id, key_id, cost_units FROM usage_records WHERE account_id = ?",
                           (account,)).fetchall()
        ledger_rows = db.execute("SELECT kind FROM ledger_entries WHERE account_id = ?", (account,)).fetchall()
        status = db.execute("SELECT status, email, name FROM accounts WHERE id = ?", (account,)).fetchone()
    assert sorted(r[0] for r in usage) == sorted(served) and all(r[1] is None and r[2] > 0 for r in usage)
    assert ("topup",) in ledger_rows and ("usage",) in ledger_rows   # kept for the retention period
    assert status == ("deleted", tombstone_email(account), None)
    stored = b"".join(path.read_bytes() for path in gateway.workdir.glob("alltoken.db*") if path.is_file())
    for personal in (email, name, password_hash, alert_email):
        assert personal.encode() not in stored, personal
    assert gateway.cli("accounts", "create", "--email", email)["email"] == email   # the address is free again
    entry = next(e for e in gateway.cli("audit-log", "--target", account) if e["action"] == "account.delete")
    assert entry["actor"].startswith("user:") and entry["details"] == {"keys_revoked": 2}
    assert owner.get("/auth/me").status_code == 401     # its sessions end with it


def test_an_administrator_deletes_from_the_cli_and_the_ledger_goes_after_retention(tmp_path):
    retention_seconds = 8
    gateway = Gateway(tmp_path, {"retention": {"ledger_days": retention_seconds / 86400,
                                               "purge_interval_seconds": 0.5}}).start()
    try:
        account, key = gateway.new_key("3")
        chat(gateway, key)
        wait_for(lambda: gateway.recorded_statuses(account))
        deleted = gateway.cli("accounts", "delete", account, "--reason", "owner asked by email")
        assert deleted["keys_revoked"] == 1
        assert wait_for(lambda: key_refused(gateway, key), timeout=1.0, interval=0.02) and unauthorized(gateway, key)
        with pytest.raises(CliError, match="already deleted"):
            gateway.cli("accounts", "delete", account, "--reason", "again")
        with pytest.raises(CliError, match="is deleted"):
            gateway.cli("keys", "create", "--account", account)
        with sqlite3.connect(gateway.db_path) as db:
            (admin_account,) = db.execute("SELECT account_id FROM users WHERE is_admin").fetchone()
        with pytest.raises(CliError, match="administrator"):
            gateway.cli("accounts", "delete", admin_account, "--reason", "oops")

        def ledger_rows() -> int:
            with sqlite3.connect(gateway.db_path) as db:
                return db.execute("SELECT count(*) FROM ledger_entries WHERE account_id = ?", (account,)).fetchone()[0]

        kept = ledger_rows()
        assert kept == 2   # the grant and the charge, kept until they are `retention_seconds` old
        gateway.new_key("1")        # a newer entry in the ledger, so that the deleted account's newest may go
        assert wait_for(lambda: ledger_rows() == 0, timeout=retention_seconds + 10)
        entries = gateway.cli("audit-log", "--target", account)
        assert [e["action"] for e in entries if e["action"].startswith("accounts.")] == ["accounts.create",
                                                                                         "accounts.delete"]
        deletion = next(e for e in entries if e["action"] == "accounts.delete")
        assert deletion["actor"].startswith("cli:") and deletion["details"]["reason"] == "owner asked by email"
        purges = [e for e in entries if e["action"] == "retention.purge"]
        assert sum(e["details"].get("ledger_entries", 0) for e in purges) == kept
        assert all(e["actor"] == "system" for e in purges)
    finally:
        gateway.stop()
