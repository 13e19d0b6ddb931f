"""Admin corrections: adjustments with reason and actor, refunds of unspent paid credit only,
through the management API and the CLI; admin-only; refunds exact under races (SQLite, PostgreSQL)."""

import asyncio
import getpass
import secrets
import sqlite3
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from alltoken.accounts.service import create_account
from alltoken.billing import ledger
from alltoken.billing.corrections import RefundTooLarge, adjust, refund
from alltoken.billing.expiry import account_buckets
from alltoken.billing.ledger import Charge
from alltoken.money import UNITS_PER_USD
from alltoken.store.db import session_factory

from .harness import CliError, Gateway, wait_for

USD = UNITS_PER_USD


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("admin-billing")).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def admin_key(gateway):
    with sqlite3.connect(gateway.db_path) as db:
        (account,) = db.execute("SELECT account_id FROM users WHERE is_admin").fetchone()
    created = gateway.cli("keys", "create", "--account", account)
    return created["key"], created["id"]


def post(gateway, path, key, body) -> httpx.Response:
    return httpx.post(gateway.url + "/api/admin/accounts" + path, json=body,
                      headers={"Authorization": f"Bearer {key}"}, timeout=10)


def credits(gateway, key) -> dict:
    return httpx.get(gateway.url + "/v1/credits", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()["data"]


def test_adjustments_record_reason_and_actor_and_count_at_once(gateway, admin_key):
    key, key_id = admin_key
    account, user_key = gateway.new_key(usd="5")
    credits(gateway, user_key)  # the server has loaded the account: the adjustment must reach its cache
    added = post(gateway, f"/{account}/adjustments", key, {"amount_usd": "1.25", "reason": "billing error #12"})
    assert added.status_code == 201, added.text
    assert added.json() | {"entry_id": 0} == {
        "entry_id": 0, "account_id": account, "kind": "adjustment", "amount_usd": "1.250000",
        "reason": "billing error #12", "actor": f"key:{key_id}", "balance_usd": "6.250000",
        "refundable_usd": "6.250000"}
    assert credits(gateway, user_key)["balance_usd"] == "6.250000"
    taken = post(gateway, f"/{account}/adjustments", key, {"amount_usd": "-7", "reason": "chargeback"})
    assert taken.status_code == 201 and taken.json()["balance_usd"] == "-0.750000"
    assert taken.json()["refundable_usd"] == "0.000000"

    history = httpx.get(gateway.url + f"/api/admin/accounts/{account}/transactions",
                        headers={"Authorization": f"Bearer {key}"}, timeout=10).json()["data"]
    assert [(e["kind"], e["amount_usd"], e["note"], e["actor"]) for e in history[:2]] == [
        ("adjustment", "-7.000000", "chargeback", f"key:{key_id}"),
        ("adjustment", "1.250000", "billing error #12", f"key:{key_id}")]
    audited = [(e["actor"], e["action"], e["details"]["reason"]) for e in gateway.cli("audit-log", "--target", account)
               if e["action"] == "credits.adjustment"]
    assert audited == [(f"key:{key_id}", "credits.adjustment", "billing error #12"),
                       (f"key:{key_id}", "credits.adjustment", "chargeback")]
    own_view = httpx.get(gateway.url + "/api/billing/transactions", headers={"Authorization": f"Bearer {user_key}"},
                         timeout=10).json()["data"]
    assert own_view[0]["note"] == "chargeback" and "actor" not in own_view[0]


@pytest.mark.parametrize("path,body,param", [
    ("adjustments", {"amount_usd": "0", "reason": "nothing"}, "amount_usd"),
    ("adjustments", {"amount_usd": "1", "reason": "   "}, "reason"),
    ("adjustments", {"amount_usd": "1"}, "reason"),
    ("adjustments", {"amount_usd": 1.5, "reason": "float"}, "amount_usd"),
    ("adjustments", {"amount_usd": "1.0000000000001", "reason": "too fine"}, "amount_usd"),
    ("refunds", {"amount_usd": "-1", "reason": "negative"}, "amount_usd"),
    ("refunds", {"amount_usd": "abc", "reason": "not money"}, "amount_usd"),
])
def test_bad_corrections_are_400_and_write_nothing(gateway, admin_key, path, body, param):
    account, _ = gateway.new_key(usd="2")
    response = post(gateway, f"/{account}/{path}", admin_key[0], body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert gateway.balance(account) == 2


def test_refunds_take_only_unspent_paid_credit(gateway, admin_key):
    key = admin_key[0]
    account, user_key = gateway.new_key(usd="3")
    gateway.cli("credits", "grant", "--account", account, "--usd", "1", "--kind", "promo")
    client = gateway.sdk(user_key)
    client.chat.completions.create(model="alltoken/demo", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    wait_for(lambda: gateway.balance(account) < 4)
    split = gateway.cli("credits", "balance", "--account", account)
    assert split["paid_usd"] == "3.000000"       # the request spent promotional credit first

    too_much = post(gateway, f"/{account}/refunds", key, {"amount_usd": "3.000000000001", "reason": "closing"})
    assert too_much.status_code == 400
    assert too_much.json()["error"]["code"] == "refund_exceeds_paid_credit"
    assert "3.000000 USD refundable" in too_much.json()["error"]["message"]
    assert gateway.cli("credits", "balance", "--account", account) == split

    done = post(gateway, f"/{account}/refunds", key, {"amount_usd": "3", "reason": "account closed, paid back"})
    assert done.status_code == 201, done.text
    assert done.json()["kind"] == "refund" and done.json()["amount_usd"] == "-3.000000"
    assert done.json()["refundable_usd"] == "0.000000" and done.json()["balance_usd"] == split["promo_usd"]
    assert credits(gateway, user_key)["balance_usd"] == split["promo_usd"]   # this server saw it at once
    after = gateway.cli("credits", "balance", "--account", account)
    assert after["paid_usd"] == "0.000000" and after["promo_usd"] == split["promo_usd"]
    nothing_left = post(gateway, f"/{account}/refunds", key, {"amount_usd": "0.000000000001", "reason": "again"})
    assert nothing_left.status_code == 400 and "0.000000 USD refundable" in nothing_left.json()["error"]["message"]


def test_only_administrators_and_only_existing_accounts(gateway, admin_key):
    account, user_key = gateway.new_key(usd="1")
    body = {"amount_usd": "1", "reason": "try"}
    for path in (f"/{account}/adjustments", f"/{account}/refunds"):
        assert post(gateway, path, user_key, body).json()["error"]["code"] == "admin_only"
        assert httpx.post(gateway.url + "/api/admin/accounts" + path, json=body, timeout=10).status_code == 401
    own = httpx.get(gateway.url + f"/api/admin/accounts/{account}/transactions",
                    headers={"Authorization": f"Bearer {user_key}"}, timeout=10)
    assert own.status_code == 403
    assert gateway.balance(account) == 1
    for path in ("/acct_nope/adjustments", "/acct_nope/refunds"):
        missing = post(gateway, path, admin_key[0], body)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "account_not_found"
    assert httpx.get(gateway.url + "/api/admin/accounts/acct_nope/transactions",
                     headers={"Authorization": f"Bearer {admin_key[0]}"}, timeout=10).status_code == 404


def test_cli_records_the_operator(gateway):
    account, _ = gateway.new_key(usd="4")
    adjusted = gateway.cli("credits", "adjust", "--account", account, "--usd", "-0.5", "--reason", "duplicate charge")
    assert adjusted["kind"] == "adjustment" and adjusted["amount_usd"] == "-0.500000"
    assert adjusted["actor"] == f"cli:{getpass.getuser()}" and adjusted["reason"] == "duplicate charge"
    refunded = gateway.cli("credits", "refund", "--account", account, "--usd", "1.5", "--reason", "goodwill")
    assert refunded["amount_usd"] == "-1.500000" and refunded["balance_usd"] == "2.000000"
    with pytest.raises(CliError) as refused:
        gateway.cli("credits", "refund", "--account", account, "--usd", "2.01", "--reason", "too much")
    assert refused.value.code == 1 and "2.000000 USD refundable" in refused.value.stderr
    with pytest.raises(CliError) as missing_reason:
        gateway.cli("credits", "adjust", "--account", account, "--usd", "1")
    assert missing_reason.value.code == 2
    assert gateway.balance(account) == 2


async def test_refund_limits_on_the_ledger(engine):
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        account = (await create_account(session, f"refund-{secrets.token_hex(3)}@example.com")).id
        await session.flush()
        await ledger.grant(session, account, "10", kind="topup")
        await ledger.grant(session, account, "5", kind="promo", expires_at=now + timedelta(days=30))
        await session.flush()
        await ledger.write_charges(session, [Charge(account, f"gen-{secrets.token_hex(4)}", 7 * USD)])
    with pytest.raises(RefundTooLarge) as refused:   # promo covered 5 of the 7: paid is 8
        async with sessions.begin() as session:
            await refund(session, account, "8.000000000001", "too much", "test")
    assert refused.value.refundable_units == 8 * USD
    async with sessions.begin() as session:
        done = await refund(session, account, "8", "all of it", "test")
    assert done.balance_units == 0 and done.refundable_units == 0
    async with sessions.begin() as session:
        await adjust(session, account, "2", "goodwill", "test")
    async with sessions() as session:
        buckets = await account_buckets(session, account)
        assert buckets.paid == 2 * USD and buckets.promo_total == 0
        assert await ledger.balance_units(session, account) == 2 * USD


async def test_concurrent_refunds_never_take_more_than_paid_credit(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = (await create_account(session, f"race-{secrets.token_hex(3)}@example.com")).id
        await session.flush()
        await ledger.grant(session, account, "10", kind="topup")

    async def one_refund() -> bool:
        try:
            async with sessions.begin() as session:
                await refund(session, account, "3", "raced", "test")
            return True
        except RefundTooLarge:
            return False

    results = await asyncio.gather(*(one_refund() for _ in range(8)))
    assert results.count(True) == 3
    async with sessions() as session:
        assert await ledger.balance_units(session, account) == 1 * USD
        assert (await account_buckets(session, account)).paid == 1 * USD
