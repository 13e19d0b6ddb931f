"""GET /api/billing/balance: the account's balance for a console session or an API key, never another's."""

import time

import httpx

from .harness import wait_for


def test_the_balance_is_the_ledgers_for_a_session_or_a_key_and_needs_one(demo_gateway):
    with httpx.Client(base_url=demo_gateway.url + "/api", timeout=15) as browser:
        assert browser.get("/billing/balance").json()["error"]["code"] == "not_signed_in"
        me = browser.post("/auth/signup", json={"email": f"bal-{time.monotonic_ns()}@example.com",
                                                "password": "correct horse battery"}).json()
        account = me["account_id"]
        assert browser.get("/billing/balance").json() == {"account_id": account, "balance_usd": "0.000000",
                                                         "reserved_usd": "0.000000", "available_usd": "0.000000"}
        demo_gateway.cli("credits", "grant", "--account", account, "--usd", "3.25")
        secret = demo_gateway.cli("keys", "create", "--account", account)["key"]
        # the running server sees the grant with its next poll of the ledger
        by_key = wait_for(lambda: (answer := demo_gateway.api("GET", "/billing/balance", secret).json())
                          ["balance_usd"] == "3.250000" and answer)
        assert by_key["account_id"] == account
        assert browser.get("/billing/balance").json() == by_key
    other, other_secret = demo_gateway.new_key("1")
    theirs = wait_for(lambda: (answer := demo_gateway.api("GET", "/billing/balance", other_secret).json())
                      ["balance_usd"] == "1.000000" and answer)
    assert theirs["account_id"] == other
