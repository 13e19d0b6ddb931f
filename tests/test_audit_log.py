"""The audit log: every admin action recorded with who, what, when and from where; append-only."""

import csv
import io

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from alltoken import audit
from alltoken.store.db import session_factory


async def test_entries_are_listed_oldest_first_and_the_database_refuses_changes(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await audit.record(session, "cli:ops@host", "account.suspend", "acct_1", {"reason": "abuse"})
        await audit.record(session, "key:key_9", "routes.set", "model:acme/m", address="10.0.0.7")
    async with sessions() as session:
        found = await audit.entries(session)
        assert [(e["actor"], e["action"], e["target"]) for e in found] == [
            ("cli:ops@host", "account.suspend", "acct_1"), ("key:key_9", "routes.set", "model:acme/m")]
        assert found[0]["details"] == {"reason": "abuse"} and found[1]["address"] == "10.0.0.7"
        assert [e["action"] for e in await audit.entries(session, target="acct_1")] == ["account.suspend"]
        assert await audit.entries(session, after_id=found[1]["id"]) == []
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions.begin() as session:
                await session.execute(text(statement))
    async with sessions() as session:
        assert len(await audit.entries(session)) == 2


def test_admin_commands_are_recorded_without_personal_data_and_reads_are_not(demo_gateway):
    account = demo_gateway.cli("accounts", "create", "--email", "audited@example.com", "--name", "Ann")["id"]
    demo_gateway.cli("credits", "grant", "--account", account, "--usd", "3", "--note", "welcome")
    key = demo_gateway.cli("keys", "create", "--account", account)["id"]
    demo_gateway.cli("keys", "revoke", key)
    demo_gateway.cli("credits", "balance", "--account", account)
    mine = demo_gateway.cli("audit-log", "--target", account) + demo_gateway.cli("audit-log", "--target", key)
    assert sorted(e["action"] for e in mine) == ["accounts.create", "credits.grant", "keys.create", "keys.revoke"]
    assert all(e["actor"].startswith("cli:") and e["at"] for e in mine)
    grant = next(e for e in mine if e["action"] == "credits.grant")
    assert grant["details"] == {"account_id": account, "usd": "3", "kind": "topup", "note": "welcome"}
    everything = str(demo_gateway.cli("audit-log"))
    assert "audited@example.com" not in everything and "Ann" not in everything


def test_api_changes_are_recorded_with_the_key_and_address_and_admins_can_page_and_export(demo_gateway):
    admin = demo_gateway.admin_key()
    headers = {"Authorization": f"Bearer {admin}"}
    routes = {"routes": [{"provider": "demo", "model": "demo"}]}
    for _ in range(3):
        response = httpx.put(demo_gateway.url + "/api/admin/models/acme/audited/routes", json=routes,
                             headers=headers)
        assert response.status_code == 200, response.text
    assert httpx.delete(demo_gateway.url + "/api/admin/models/acme/audited/routes", headers=headers).status_code \
        == 204
    first = httpx.get(demo_gateway.url + "/api/admin/audit-log",
                      params={"target": "model:acme/audited", "limit": 2}, headers=headers).json()
    assert [e["action"] for e in first["entries"]] == ["routes.set", "routes.set"]
    rest = httpx.get(demo_gateway.url + "/api/admin/audit-log", headers=headers, params={
        "target": "model:acme/audited", "limit": 2, "after": first["next_after"]}).json()
    assert [e["action"] for e in rest["entries"]] == ["routes.set", "routes.clear"]
    last = httpx.get(demo_gateway.url + "/api/admin/audit-log", headers=headers, params={
        "target": "model:acme/audited", "limit": 2, "after": rest["next_after"]}).json()
    assert last == {"entries": [], "next_after": None}
    entry = first["entries"][0]
    assert entry["actor"].startswith("key:key_") and entry["address"] == "127.0.0.1"
    assert entry["details"] == {"strategy": "priority", "routes": ["demo/demo"]}

    exported = httpx.get(demo_gateway.url + "/api/admin/audit-log.csv", params={"target": "model:acme/audited"},
                         headers=headers)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["action"] for r in rows] == ["routes.set"] * 3 + ["routes.clear"]
    assert rows[0]["id"] == str(entry["id"]) and rows[0]["address"] == "127.0.0.1"


def test_only_administrators_read_the_audit_log(demo_gateway):
    _, user_key = demo_gateway.new_key()
    response = httpx.get(demo_gateway.url + "/api/admin/audit-log", headers={"Authorization": f"Bearer {user_key}"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "admin_only"
    assert httpx.get(demo_gateway.url + "/api/admin/audit-log.csv").status_code == 401
