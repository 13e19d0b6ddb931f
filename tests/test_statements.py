"""Transactions and monthly statements: exact on constructed ledgers (SQLite and PostgreSQL),
month boundaries, pagination, CSV that parses back, and one account never seeing another's."""

import csv
import io
import secrets
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import insert

from alltoken.accounts.service import create_account
from alltoken.billing.statements import Month, monthly_statement, months_with_activity
from alltoken.billing.transactions import Position, TransactionFilter, transactions_page
from alltoken.money import UNITS_PER_USD
from alltoken.store.db import session_factory
from alltoken.store.models import LedgerEntry

from .harness import Gateway, wait_for

USD = UNITS_PER_USD
NOW = datetime(2026, 4, 15, 12, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (created_at, kind, units): across the January/February and February/March boundaries.
LEDGER = [
    (at("2026-01-10T09:00:00"), "topup", 20 * USD),
    (at("2026-01-20T10:00:00"), "promo", 5 * USD),
    (at("2026-01-31T23:59:59.999999"), "usage", -3),                 # last instant of January
    (at("2026-02-01T00:00:00"), "usage", -7),                        # first instant of February
    (at("2026-02-01T00:00:00"), "usage", -11),                       # same instant, another request
    (at("2026-02-14T08:30:00"), "adjustment", -2 * USD),
    (at("2026-02-20T12:00:00"), "refund", -4 * USD),
    (at("2026-02-28T23:59:59.999999"), "expiry", -1 * USD),
    (at("2026-03-01T00:00:00"), "topup", 10 * USD),
    (at("2026-03-31T23:59:59"), "usage", -123_456_789),
]


async def constructed_account(sessions, ledger=LEDGER) -> str:
    async with sessions.begin() as session:
        account = await create_account(session, f"stmt-{secrets.token_hex(4)}@example.com")
        await session.flush()
        if not ledger:
            return account.id
        await session.execute(insert(LedgerEntry), [
            {"account_id": account.id, "kind": kind, "amount_units": units, "created_at": when,
             "request_id": f"gen-{secrets.token_hex(6)}" if kind == "usage" else None, "note": f"{kind} note"}
            for when, kind, units in ledger])
    return account.id


async def test_statements_are_exact_across_month_boundaries(engine):
    sessions = session_factory(engine)
    account = await constructed_account(sessions)
    async with sessions() as session:
        january, february, march, april = [
            await monthly_statement(session, account, Month.parse(label, NOW), NOW)
            for label in ("2026-01", "2026-02", "2026-03", "2026-04")]
        december = await monthly_statement(session, account, Month.parse("2025-12", NOW), NOW)
        months = await months_with_activity(session, account, NOW)

    assert december.opening_units == december.closing_units == 0 and december.requests == 0
    assert january.opening_units == 0
    assert {k: (t.units, t.entries) for k, t in january.totals.items()} == {
        "topup": (20 * USD, 1), "promo": (5 * USD, 1), "usage": (-3, 1), "adjustment": (0, 0), "refund": (0, 0),
        "expiry": (0, 0)}
    assert january.closing_units == 25 * USD - 3 and january.requests == 1 and january.complete
    assert february.opening_units == january.closing_units
    assert {k: t.units for k, t in february.totals.items()} == {
        "topup": 0, "promo": 0, "usage": -18, "adjustment": -2 * USD, "refund": -4 * USD, "expiry": -1 * USD}
    assert february.requests == 2 and february.closing_units == 18 * USD - 21
    assert march.opening_units == february.closing_units
    assert march.closing_units == 28 * USD - 21 - 123_456_789 and march.requests == 1
    assert april.opening_units == april.closing_units == march.closing_units and not april.complete
    assert april.closing_units == sum(units for _, _, units in LEDGER)
    assert [m.label for m in months] == ["2026-03", "2026-02", "2026-01"]


async def test_an_account_without_entries_has_no_statements(engine):
    sessions = session_factory(engine)
    account = await constructed_account(sessions, ledger=[])
    async with sessions() as session:
        assert await months_with_activity(session, account, NOW) == []


@pytest.mark.parametrize("text,fragment", [
    ("2026-4", "YYYY-MM"), ("2026-13", "YYYY-MM"), ("0000-01", "YYYY-MM"), ("april", "YYYY-MM"),
    ("2026-05", "future"), ("2031-01", "future"),
])
def test_bad_or_future_months_are_refused(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        Month.parse(text, NOW)


async def test_pages_return_every_entry_once_newest_first(engine):
    sessions = session_factory(engine)
    moment = at("2026-02-01T00:00:00")
    ledger = [(moment + timedelta(seconds=i // 3), "usage" if i % 4 else "topup", -(i + 1) if i % 4 else USD)
              for i in range(23)]  # three entries share each instant: ties are broken by id
    account = await constructed_account(sessions, ledger)
    other = await constructed_account(sessions)
    seen, after = [], None
    async with sessions() as session:
        while True:
            page = await transactions_page(session, account, TransactionFilter(), 5, after)
            seen += page
            if len(page) < 5:
                break
            after = page[-1].position
        keys = [(t.created_at, t.id) for t in seen]
        assert len(seen) == 23 and len(set(t.id for t in seen)) == 23 and keys == sorted(keys, reverse=True)
        assert sorted(t.amount_units for t in seen) == sorted(units for _, _, units in ledger)
        only_topups = await transactions_page(session, account, TransactionFilter(kind="topup"), 100)
        assert [t.kind for t in only_topups] == ["topup"] * 6
        window = TransactionFilter(since=moment + timedelta(seconds=2), until=moment + timedelta(seconds=4))
        assert {t.created_at for t in await transactions_page(session, account, window, 100)} == {
            moment + timedelta(seconds=2), moment + timedelta(seconds=3)}
        assert all(t.id not in {s.id for s in seen}
                   for t in await transactions_page(session, other, TransactionFilter(), 100))


def test_cursor_round_trips_exactly():
    position = Position(at("2026-02-01T00:00:00.000001"), 42)
    assert Position.decode(position.encode()) == position
    with pytest.raises(ValueError):
        Position.decode("not-a-cursor")


# End to end: the management API of a running gateway (SQLite), with the account's own key.

@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("statements")).start()
    yield gateway
    gateway.stop()


def api(gateway, path, key, **params) -> httpx.Response:
    return httpx.get(gateway.url + "/api/billing" + path, headers={"Authorization": f"Bearer {key}"},
                     params=params, timeout=10)


def backdate(gateway, account: str, rows) -> None:
    """Ledger entries of earlier months, written as SQLAlchemy stores times in SQLite (naive UTC)."""
    with sqlite3.connect(gateway.db_path) as db:
        db.executemany("INSERT INTO ledger_entries (account_id, kind, amount_units, created_at, note) "
                       "VALUES (?, ?, ?, ?, ?)",
                       [(account, kind, units, when.strftime("%Y-%m-%d %H:%M:%S.%f"), note)
                        for when, kind, units, note in rows])


def spend(gateway, key, n: int) -> list[str]:
    client = gateway.sdk(key)
    return [client.chat.completions.create(model="alltoken/demo", max_tokens=20,
                                           messages=[{"role": "user", "content": f"statement {i}"}]).id
            for i in range(n)]


def this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def test_statement_json_and_csv_agree_and_add_up(gateway):
    account, key = gateway.new_key(usd="3")
    backdate(gateway, account, [(at("2025-11-30T23:59:59.999999"), "promo", 2 * USD, "launch offer"),
                                (at("2025-12-01T00:00:00"), "usage", -5, None),
                                (at("2025-12-31T23:59:59"), "adjustment", USD // 2, "correction")])
    spend(gateway, key, 3)
    assert wait_for(lambda: api(gateway, f"/statements/{this_month()}", key).json()["requests"] == 3)

    listed = api(gateway, "/statements", key).json()["data"]
    assert [m["month"] for m in listed] == [this_month(), "2025-12", "2025-11"]
    assert listed[0]["complete"] is False and listed[1]["complete"] is True
    december = api(gateway, "/statements/2025-12", key).json()
    assert december["opening_balance_usd"] == "2.000000"
    assert december["totals"]["usage"] == {"amount_usd": "-0.000000000005", "entries": 1}
    assert december["totals"]["adjustment"] == {"amount_usd": "0.500000", "entries": 1}
    assert december["closing_balance_usd"] == "2.499999999995" and december["requests"] == 1

    current = api(gateway, f"/statements/{this_month()}", key).json()
    assert current["opening_balance_usd"] == december["closing_balance_usd"]
    assert current["totals"]["topup"] == {"amount_usd": "3.000000", "entries": 1}
    movements = sum(Decimal(t["amount_usd"]) for t in current["totals"].values())
    assert Decimal(current["opening_balance_usd"]) + movements == Decimal(current["closing_balance_usd"])
    assert Decimal(current["closing_balance_usd"]) == gateway.balance(account)

    response = api(gateway, f"/statements/{this_month()}.csv", key)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_item = {row["item"]: row for row in rows}
    assert by_item["opening_balance"]["amount_usd"] == current["opening_balance_usd"]
    assert by_item["closing_balance"]["amount_usd"] == current["closing_balance_usd"]
    assert {item: (row["amount_usd"], int(row["entries"])) for item, row in by_item.items() if row["entries"]} == {
        kind: (total["amount_usd"], total["entries"]) for kind, total in current["totals"].items()}
    assert all(row["account_id"] == account and row["month"] == this_month() for row in rows)


def test_transactions_pages_and_csv_hold_every_entry_once(gateway):
    account, key = gateway.new_key(usd="1")
    request_ids = spend(gateway, key, 7)
    assert wait_for(lambda: len(api(gateway, "/transactions", key, limit=100).json()["data"]) == 8)
    pages, cursor = [], None
    while True:
        page = api(gateway, "/transactions", key, limit=3, **({"cursor": cursor} if cursor else {})).json()
        pages.append(page["data"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            assert cursor is None
            break
    entries = [entry for page in pages for entry in page]
    assert [len(page) for page in pages] == [3, 3, 2]
    assert len({e["id"] for e in entries}) == 8 and entries[-1]["kind"] == "topup"
    assert {e["request_id"] for e in entries if e["kind"] == "usage"} == set(request_ids)
    assert all(e["balance_effect"] == "debit" and e["amount_usd"].startswith("-")
               for e in entries if e["kind"] == "usage")
    assert entries[-1]["balance_effect"] == "credit" and entries[-1]["request_id"] is None

    exported = list(csv.DictReader(io.StringIO(api(gateway, "/transactions.csv", key).text)))
    assert [int(row["id"]) for row in exported] == [e["id"] for e in entries]
    assert [row["amount_usd"] for row in exported] == [e["amount_usd"] for e in entries]
    assert sum(Decimal(row["amount_usd"]) for row in exported) == gateway.balance(account)
    usage_only = list(csv.DictReader(io.StringIO(api(gateway, "/transactions.csv", key, kind="usage").text)))
    assert len(usage_only) == 7 and {row["request_id"] for row in usage_only} == set(request_ids)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert api(gateway, "/transactions", key, **{"from": tomorrow}).json()["data"] == []
    assert len(api(gateway, "/transactions", key, to=tomorrow, kind="topup").json()["data"]) == 1


def test_a_key_sees_only_its_own_account(gateway):
    account, key = gateway.new_key(usd="5")
    _, other_key = gateway.new_key(usd="2")
    backdate(gateway, account, [(at("2025-06-15T00:00:00"), "topup", USD, "older")])
    mine = {e["id"] for e in api(gateway, "/transactions", key).json()["data"]}
    theirs = {e["id"] for e in api(gateway, "/transactions", other_key).json()["data"]}
    assert mine and theirs and not mine & theirs
    assert "2025-06" not in {m["month"] for m in api(gateway, "/statements", other_key).json()["data"]}
    other_june = api(gateway, "/statements/2025-06", other_key).json()
    assert other_june["totals"]["topup"]["entries"] == 0 and other_june["account_id"] != account
    exported = api(gateway, "/transactions.csv", other_key).text
    assert all(str(entry_id) not in [row["id"] for row in csv.DictReader(io.StringIO(exported))]
               for entry_id in mine)
    assert httpx.get(gateway.url + "/api/billing/transactions", timeout=10).status_code == 401


@pytest.mark.parametrize("path,params,param", [
    ("/statements/2026-13", {}, "month"),
    ("/statements/2999-01", {}, "month"),
    ("/statements/2999-01.csv", {}, "month"),
    ("/transactions", {"cursor": "garbage"}, "cursor"),
    ("/transactions", {"from": "2026-01-01T00:00:00"}, "from"),
    ("/transactions", {"to": "yesterday"}, "to"),
    ("/transactions", {"from": "2026-02-01", "to": "2026-01-01"}, "from"),
    ("/transactions", {"limit": "0"}, "query.limit"),
    ("/transactions", {"kind": "DROP TABLE"}, "query.kind"),
])
def test_bad_queries_are_400(gateway, path, params, param):
    _, key = gateway.new_key(usd="1")
    response = api(gateway, path, key, **params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
