"""The billing invariants, checked from outside a running gateway after tests that spend (conftest.py
applies them to every test that uses a gateway, and to the shared gateways when they stop):

- no hold outlives its request: every account's reserved amount is back to zero;
- the ledger is the truth: the balance the server answers with equals the sum of the account's ledger
  entries in the database (once its last charges are written: up to a few flush intervals);
- no settlement takes a balance below zero, or below minus the account's credit line. An account with
  a negative correction (an administrator's adjustment or refund, a disputed payment) may legitimately be
  below it, and is held to the first two only.

The server's figures come from GET /api/admin/accounts/{id} (balance_usd, reserved_usd) with an
administrator's key made once per gateway; the ledger from the gateway's own database. Accounts
deleted since, and servers whose region gate refuses the test machine, are left out.
"""

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import httpx

from .cluster import _fetch
from .databases import run_aside
from .harness import Gateway, wait_for

UNITS = Decimal(10**12)
_ADMIN_KEYS: dict[tuple[str, str], str] = {}     # (gateway url, its database) -> an administrator's key


def assert_billing_invariants(gateway: Gateway, since: datetime | None = None, timeout: float = 10.0,
                              holds_may_remain: bool = False) -> None:
    """Check the accounts created since `since` (every account when None) of a running gateway.
    `holds_may_remain`: a process was killed mid-request (pytest mark `holds_lapse`), and its holds free
    themselves only after their ttl, so what is reserved is not checked."""
    if gateway.process is None or gateway.process.poll() is not None:
        return
    accounts = _accounts(gateway, since)
    if not accounts:
        return
    failures: list[str] = []

    def holds() -> bool:
        failures[:] = _violations(gateway, accounts, holds_may_remain)
        return not failures

    assert wait_for(holds, timeout=timeout), "billing invariants broken:\n" + "\n".join(failures)


def _violations(gateway: Gateway, accounts: dict[str, int], holds_may_remain: bool) -> list[str]:
    ledger = _ledger(gateway, list(accounts))
    found = []
    for account, credit_line in accounts.items():
        view = httpx.get(f"{gateway.url}/api/admin/accounts/{account}", timeout=30,
                         headers={"Authorization": f"Bearer {_admin_key(gateway)}"})
        if view.status_code == 404 or _region_blocked(view):   # deleted since; or a test blocks where we are
            continue
        if view.status_code != 200:
            found.append(f"{account}: the server could not say its balance ({view.status_code})")
            continue
        balance, reserved = (int(Decimal(view.json()[name]) * UNITS) for name in ("balance_usd", "reserved_usd"))
        total, corrected = ledger.get(account, (0, False))
        if reserved and not holds_may_remain:
            found.append(f"{account}: {reserved} units still reserved")
        if balance != total:
            found.append(f"{account}: the server's balance {balance} is not the ledger's sum {total}")
        if balance < -credit_line and not corrected:
            found.append(f"{account}: balance {balance} below its floor {-credit_line}")
    return found


def _region_blocked(view: httpx.Response) -> bool:
    """The server's region gate refuses this test machine's address (tests/test_regions.py sets one up)."""
    return view.status_code == 403 and (view.json().get("error") or {}).get("code") == "region_blocked"


def _accounts(gateway: Gateway, since: datetime | None) -> dict[str, int]:
    """account id -> credit line, of the accounts created since `since` and not deleted."""
    query = "SELECT id, credit_line_units FROM accounts WHERE status != 'deleted'"
    if since is None:
        return dict(_rows(gateway, query))
    if _sqlite(gateway):
        return dict(_rows(gateway, query + " AND created_at >= ?", since.strftime("%Y-%m-%d %H:%M:%S.%f")))
    return dict(_rows(gateway, query + " AND created_at >= $1", since))


def _ledger(gateway: Gateway, accounts: list[str]) -> dict[str, tuple[int, bool]]:
    """account id -> (sum of its entries, whether a correction took credit away)."""
    corrections = "kind NOT IN ('usage', 'expiry') AND amount_units < 0"
    query = (f"SELECT account_id, SUM(amount_units), SUM(CASE WHEN {corrections} THEN 1 ELSE 0 END) "
             "FROM ledger_entries GROUP BY account_id")
    return {account: (int(total), bool(corrected)) for account, total, corrected in _rows(gateway, query)
            if account in accounts}


def _admin_key(gateway: Gateway) -> str:
    # Keyed by the database too: a later gateway may get a stopped one's port, never its database.
    which = (gateway.url, gateway.env["ALLTOKEN_DATABASE_URL"])
    if which not in _ADMIN_KEYS:
        ((account,),) = _rows(gateway, "SELECT account_id FROM users WHERE is_admin")
        _ADMIN_KEYS[which] = gateway.cli("keys", "create", "--account", account, "--name", "invariants")["key"]
    return _ADMIN_KEYS[which]


def _sqlite(gateway: Gateway) -> bool:
    return gateway.env["ALLTOKEN_DATABASE_URL"].startswith("sqlite")


def _rows(gateway: Gateway, query: str, *args) -> list[tuple]:
    if _sqlite(gateway):
        with sqlite3.connect(gateway.env["ALLTOKEN_DATABASE_URL"].removeprefix("sqlite:///")) as db:
            return db.execute(query, args).fetchall()
    return run_aside(_fetch(gateway.env["ALLTOKEN_DATABASE_URL"], query, args))


def now() -> datetime:
    return datetime.now(UTC)
