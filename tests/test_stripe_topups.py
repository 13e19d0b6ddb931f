"""Card top-ups end to end: two gateway processes on one database, a fake Stripe, signed webhooks.

Money is checked to the unit: credit is what was bought, tax is charged on top, nothing is credited twice.
"""

import sqlite3
import time
from decimal import Decimal

import httpx
import orjson
import pytest

from .fakes.stripe_upstream import SECRET_KEY, WEBHOOK_SECRET, FakeStripe, deliver, event, signature
from .harness import Gateway, wait_for

UNITS = 10**12
CHAT = {"model": "alltoken/demo", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


@pytest.fixture(scope="module")
def stripe_fake():
    fake = FakeStripe().start()
    yield fake
    fake.stop()


def stripe_config(fake: FakeStripe) -> dict:
    return {"stripe": {"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET, "api_base": fake.base_url,
                       "success_url": "https://console.example.com/paid?session={CHECKOUT_SESSION_ID}",
                       "cancel_url": "https://console.example.com/billing", "tax_percent": "8.25",
                       "minimum_usd": "5", "auto_topup_interval_seconds": 0.2}}


@pytest.fixture(scope="module")
def gateways(tmp_path_factory, stripe_fake):
    """Two server processes on one database, both running the auto top-up check."""
    workdir = tmp_path_factory.mktemp("stripe")
    first = Gateway(workdir, stripe_config(stripe_fake)).start()
    second = Gateway(workdir, stripe_config(stripe_fake)).start()
    yield first, second
    second.stop()
    first.stop()


@pytest.fixture(scope="module")
def gateway(gateways):
    return gateways[0]


def api(gateway, method, path, key, **kwargs) -> httpx.Response:
    return httpx.request(method, gateway.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=30, **kwargs)


def webhook(gateway, evt, **kwargs) -> httpx.Response:
    return deliver(gateway.url + "/api/stripe/webhook", evt, **kwargs)


def checkout(gateway, key, amount="20") -> dict:
    response = api(gateway, "POST", "/api/billing/checkout", key, json={"amount_usd": amount})
    assert response.status_code == 200, response.text
    return response.json()


def credits(gateway, key) -> Decimal:
    response = api(gateway, "GET", "/v1/credits", key)
    assert response.status_code == 200, response.text
    return Decimal(response.json()["data"]["balance_usd"])


def chat(gateway, key) -> httpx.Response:
    return api(gateway, "POST", "/v1/chat/completions", key, json=CHAT)


def payments(gateway, key) -> dict:
    response = api(gateway, "GET", "/api/billing/payments", key)
    assert response.status_code == 200, response.text
    return response.json()


def ledger(gateway, account) -> list[tuple]:
    with sqlite3.connect(gateway.db_path) as db:
        return db.execute("SELECT kind, amount_units, request_id, note FROM ledger_entries WHERE account_id = ? "
                          "ORDER BY id", (account,)).fetchall()


def pay_and_report(gateway, fake, session_id, *kinds):
    """The customer pays; Stripe sends the named events, in that order."""
    session, intent = fake.pay(session_id)
    objects = {"checkout.session.completed": session, "payment_intent.succeeded": intent}
    for kind in kinds:
        assert webhook(gateway, event(kind, objects[kind])).status_code == 200
    return session, intent


# --- Checkout ---

def test_checkout_opens_a_session_for_the_credit_plus_tax(gateway, stripe_fake):
    account, key = gateway.new_key(usd="0")
    opened = checkout(gateway, key, "12.34")
    # 8.25% of 12.34 is 1.01805: rounded to the cent, 1.02
    assert opened | {"payment_id": "", "session_id": "", "checkout_url": ""} == {
        "payment_id": "", "session_id": "", "checkout_url": "", "amount_usd": "12.340000", "tax_usd": "1.020000",
        "total_usd": "13.360000", "currency": "usd"}
    sent = stripe_fake.posted("/v1/checkout/sessions")[-1]
    assert sent["mode"] == "payment" and sent["client_reference_id"] == account
    assert [(item["price_data"]["unit_amount"], item["price_data"]["product_data"]["name"])
            for item in sent["line_items"].values()] == [("1234", "AllToken credit"), ("102", "Tax")]
    assert sent["payment_intent_data"]["setup_future_usage"] == "off_session"
    ours = {"alltoken_payment_id": opened["payment_id"], "alltoken_account_id": account}
    assert sent["metadata"] == ours and sent["payment_intent_data"]["metadata"] == ours
    assert sent["success_url"].startswith("https://console.example.com/paid")
    assert opened["checkout_url"] == stripe_fake.sessions[opened["session_id"]]["url"]
    assert stripe_fake.customers[sent["customer"]]["email"].startswith("user-")
    checkout(gateway, key, "5")   # the same customer again: one Stripe customer per account
    assert stripe_fake.posted("/v1/checkout/sessions")[-1]["customer"] == sent["customer"]
    receipt = payments(gateway, key)["data"][1]     # newest first
    assert receipt["status"] == "open" and receipt["stripe_checkout_session_id"] == opened["session_id"]


@pytest.mark.parametrize("body, fragment", [
    ({"amount_usd": "4.99"}, "smallest top-up is 5.000000 USD"),
    ({"amount_usd": "20.001"}, "whole cents"),
    ({"amount_usd": 20.5}, "amount_usd"),
    ({"amount_usd": "twenty"}, "not a decimal"),
    ({"amount_usd": "-10"}, "smallest top-up"),
    ({"amount_usd": "1000000"}, "at most 999999.990000 USD"),
    ({}, "amount_usd"),
])
def test_bad_checkout_amounts_are_400_and_reach_no_stripe(gateway, stripe_fake, body, fragment):
    _, key = gateway.new_key(usd="0")
    before = len(stripe_fake.posted("/v1/checkout/sessions"))
    response = api(gateway, "POST", "/api/billing/checkout", key, json=body)
    assert response.status_code == 400 and fragment in response.json()["error"]["message"], response.text
    assert response.json()["error"]["param"] == "amount_usd"
    assert len(stripe_fake.posted("/v1/checkout/sessions")) == before
    assert payments(gateway, key)["data"] == []


def test_account_endpoints_need_a_key_and_show_only_the_callers_payments(gateway, stripe_fake):
    _, key = gateway.new_key(usd="0")
    _, other_key = gateway.new_key(usd="0")
    opened = checkout(gateway, key)
    assert httpx.get(gateway.url + "/api/billing/payments").status_code == 401
    assert httpx.post(gateway.url + "/api/billing/checkout", json={"amount_usd": "5"}).status_code == 401
    assert [p["id"] for p in payments(gateway, key)["data"]] == [opened["payment_id"]]
    assert payments(gateway, other_key) == {"data": [], "billing_hold": None}
    expired = dict(stripe_fake.sessions[opened["session_id"]], status="expired")   # never paid
    assert webhook(gateway, event("checkout.session.expired", expired)).status_code == 200
    assert payments(gateway, key)["data"][0]["status"] == "expired" and credits(gateway, key) == 0


# --- Webhooks: exactly once, verified, in any order ---

def test_a_webhook_delivered_twice_credits_once(gateways, stripe_fake):
    gateway, second = gateways
    account, key = gateway.new_key(usd="1")
    opened = checkout(gateway, key, "20")
    session, intent = stripe_fake.pay(opened["session_id"])
    completed = event("checkout.session.completed", session)
    assert webhook(gateway, completed).json() == {"received": True}
    assert webhook(second, completed).status_code == 200      # redelivered, to the other process
    assert webhook(gateway, completed).status_code == 200
    assert webhook(gateway, event("payment_intent.succeeded", intent)).status_code == 200  # same payment
    assert credits(gateway, key) == Decimal("21")
    assert wait_for(lambda: credits(second, key) == Decimal("21"))
    topups = [row for row in ledger(gateway, account) if row[0] == "topup" and row[2]]
    assert [(kind, units, rid) for kind, units, rid, _ in topups] == [("topup", 20 * UNITS, f"stripe:{intent['id']}")]
    (receipt,) = payments(gateway, key)["data"]
    assert receipt["status"] == "succeeded" and receipt["stripe_payment_intent_id"] == intent["id"]
    assert (receipt["amount_usd"], receipt["tax_usd"], receipt["total_usd"]) == ("20.000000", "1.650000", "21.650000")
    assert receipt["receipt_number"] == f"R-{receipt['ledger_entry_id']:08d}"
    assert opened["payment_id"] in topups[0][3]    # the ledger entry names its payment


def test_forged_and_missing_signatures_are_rejected_and_apply_nothing(gateway, stripe_fake):
    _, key = gateway.new_key(usd="0")
    session, _ = stripe_fake.pay(checkout(gateway, key)["session_id"])
    completed = event("checkout.session.completed", session)
    stale = signature(b"x", timestamp=int(time.time()) - 3600).split(",")[0]
    for header in [signature(b"{}", secret="whsec_forged"),                      # wrong secret
                   signature(b'{"id": "evt_other"}'),                              # another payload's signature
                   "t=1700000000,v1=" + "0" * 64, f"{stale},v1=00", "v1=abc", "", None]:
        refused = webhook(gateway, completed, header=header)
        assert refused.status_code == 400, (header, refused.text)
        assert refused.json()["error"]["code"] == "invalid_signature"
    forged = webhook(gateway, completed, secret="whsec_forged")
    assert forged.status_code == 400 and "signature" in forged.json()["error"]["message"]
    expired = deliver(gateway.url + "/api/stripe/webhook", completed,
                      header=signature(orjson.dumps(completed), timestamp=int(time.time()) - 3600))
    assert expired.status_code == 400
    assert credits(gateway, key) == 0 and payments(gateway, key)["data"][0]["status"] == "open"
    assert webhook(gateway, completed).status_code == 200     # the genuine delivery still applies, once
    assert credits(gateway, key) == Decimal("20")


def test_unknown_events_and_other_systems_payments_are_acknowledged_and_ignored(gateway, stripe_fake):
    _, key = gateway.new_key(usd="0")
    assert webhook(gateway, event("customer.created", {"id": "cus_x", "object": "customer"})).status_code == 200
    foreign = {"id": "cs_test_foreign", "object": "checkout.session", "payment_status": "paid",
               "payment_intent": "pi_foreign", "metadata": {"order": "42"}}
    assert webhook(gateway, event("checkout.session.completed", foreign)).status_code == 200
    signed_junk = deliver(gateway.url + "/api/stripe/webhook", {"not": "an event"})
    assert signed_junk.status_code == 400 and signed_junk.json()["error"]["code"] == "invalid_event"
    assert credits(gateway, key) == 0


def test_a_payment_that_settles_later_credits_once_in_either_order(gateway, stripe_fake):
    for order in (["completed", "succeeded"], ["succeeded", "completed"]):
        _, key = gateway.new_key(usd="0")
        opened = checkout(gateway, key, "10")
        pending, _ = stripe_fake.pay(opened["session_id"], delayed=True)
        settled, _ = stripe_fake.settle(opened["session_id"], succeeded=True)
        events = {"completed": event("checkout.session.completed", pending),
                  "succeeded": event("checkout.session.async_payment_succeeded", settled)}
        assert webhook(gateway, events[order[0]]).status_code == 200
        if order[0] == "completed":   # paid by bank debit: nothing yet
            assert credits(gateway, key) == 0 and payments(gateway, key)["data"][0]["status"] == "processing"
        assert webhook(gateway, events[order[1]]).status_code == 200
        assert webhook(gateway, events[order[0]]).status_code == 200    # and a redelivery
        assert credits(gateway, key) == Decimal("10"), order
        assert payments(gateway, key)["data"][0]["status"] == "succeeded"


def test_the_payment_intent_event_may_come_before_the_checkout_event(gateway, stripe_fake):
    _, key = gateway.new_key(usd="0")
    opened = checkout(gateway, key, "7.50")
    pay_and_report(gateway, stripe_fake, opened["session_id"], "payment_intent.succeeded", "checkout.session.completed")
    assert credits(gateway, key) == Decimal("7.5")
    (receipt,) = payments(gateway, key)["data"]
    assert receipt["stripe_checkout_session_id"] == opened["session_id"] and receipt["status"] == "succeeded"


# --- Billing holds: a failed or disputed payment suspends API access until the balance is restored ---

def test_a_failed_payment_suspends_and_a_successful_top_up_restores_access(gateways, stripe_fake):
    gateway, second = gateways
    _, key = gateway.new_key(usd="3")
    assert chat(gateway, key).status_code == 200
    opened = checkout(gateway, key, "10")
    declined = stripe_fake.decline_attempt(opened["session_id"])   # a card declined on the page: no hold
    assert webhook(gateway, event("payment_intent.payment_failed", declined)).status_code == 200
    assert chat(gateway, key).status_code == 200
    pending, _ = stripe_fake.pay(opened["session_id"], delayed=True)
    failed, _ = stripe_fake.settle(opened["session_id"], succeeded=False)
    webhook(gateway, event("checkout.session.completed", pending))
    failure = event("checkout.session.async_payment_failed", failed)
    assert webhook(gateway, failure).status_code == 200

    refused = chat(gateway, key)
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "billing_suspended" and error["type"] == "permission_error"
    assert "10.830000 USD" in error["message"] and "failed" in error["message"]
    assert "POST /api/billing/checkout" in error["message"]
    assert wait_for(lambda: chat(second, key).status_code == 403)        # every process, within a second
    assert api(gateway, "POST", "/v1/embeddings", key,
               json={"model": "alltoken/demo-embed", "input": "x"}).json()["error"]["code"] == "billing_suspended"
    listed = payments(gateway, key)      # the account can still see what happened, and pay
    assert listed["billing_hold"]["code"] == "payment_failed" and listed["data"][0]["status"] == "failed"
    assert credits(gateway, key) > 0

    retry = checkout(gateway, key, "5")
    pay_and_report(gateway, stripe_fake, retry["session_id"], "checkout.session.completed")
    assert chat(gateway, key).status_code == 200
    assert wait_for(lambda: chat(second, key).status_code == 200)
    assert webhook(gateway, failure).status_code == 200                 # a redelivered failure: already applied
    assert chat(gateway, key).status_code == 200 and payments(gateway, key)["billing_hold"] is None


def test_a_dispute_takes_the_credit_back_and_holds_until_the_balance_is_0_or_more(gateway, stripe_fake):
    account, key = gateway.new_key(usd="0")
    opened = checkout(gateway, key, "10")
    _, intent = pay_and_report(gateway, stripe_fake, opened["session_id"], "checkout.session.completed")
    gateway.cli("credits", "grant", "--account", account, "--usd=-8", "--kind", "adjustment", "--note", "spent")
    dispute = event("charge.dispute.created", stripe_fake.dispute(intent["id"]))
    assert webhook(gateway, dispute).status_code == 200
    assert webhook(gateway, dispute).status_code == 200                 # twice: taken back once
    assert credits(gateway, key) == Decimal("-8")
    assert ledger(gateway, account)[-1][:2] == ("adjustment", -10 * UNITS)
    refused = chat(gateway, key).json()["error"]
    assert refused["code"] == "billing_suspended" and "disputed" in refused["message"]
    assert payments(gateway, key)["data"][0]["disputed_usd"] == "10.000000"

    first = checkout(gateway, key, "5")       # -3 USD after it: still held
    pay_and_report(gateway, stripe_fake, first["session_id"], "checkout.session.completed")
    assert credits(gateway, key) == Decimal("-3") and chat(gateway, key).status_code == 403
    second = checkout(gateway, key, "5")      # 2 USD: restored
    pay_and_report(gateway, stripe_fake, second["session_id"], "checkout.session.completed")
    assert credits(gateway, key) == Decimal("2") and chat(gateway, key).status_code == 200


def test_a_dispute_that_arrives_before_the_payment_events_ends_the_same(gateway, stripe_fake):
    account, key = gateway.new_key(usd="1")
    opened = checkout(gateway, key, "10")
    session, intent = stripe_fake.pay(opened["session_id"])
    # Stripe tells the dispute first: AllToken asks Stripe whose payment it is
    disputed = event("charge.dispute.created", stripe_fake.dispute(intent["id"], amount=541))
    assert webhook(gateway, disputed).status_code == 200
    assert ("GET", f"/v1/payment_intents/{intent['id']}") in [(m, p) for m, p, _, _ in stripe_fake.requests]
    assert webhook(gateway, event("checkout.session.completed", session)).status_code == 200
    assert webhook(gateway, event("payment_intent.succeeded", intent)).status_code == 200
    # half the 10.83 USD charge was disputed: half the 10 USD credit goes back
    assert credits(gateway, key) == Decimal("11") - Decimal("4.995383194829")   # 10 x 541 / 1083, rounded down
    assert chat(gateway, key).json()["error"]["code"] == "billing_suspended"   # its own credit restores nothing


def test_a_dispute_won_gives_the_credit_back_and_lifts_the_hold_once(gateway, stripe_fake):
    account, key = gateway.new_key(usd="0")
    opened = checkout(gateway, key, "10")
    _, intent = pay_and_report(gateway, stripe_fake, opened["session_id"], "checkout.session.completed")
    opening = stripe_fake.dispute(intent["id"])
    assert webhook(gateway, event("charge.dispute.created", opening)).status_code == 200
    assert credits(gateway, key) == 0 and chat(gateway, key).status_code == 403

    won = event("charge.dispute.closed", {**opening, "status": "won"})
    assert webhook(gateway, won).status_code == 200
    assert webhook(gateway, event("charge.dispute.closed", {**opening, "status": "won"})).status_code == 200
    assert credits(gateway, key) == 10 and chat(gateway, key).status_code == 200      # given back once
    assert ledger(gateway, account)[-1][:2] == ("adjustment", 10 * UNITS)
    assert payments(gateway, key)["data"][0]["disputed_usd"] == "0.000000"


def test_a_dispute_closed_before_its_opening_arrived_ends_the_same(gateway, stripe_fake):
    account, key = gateway.new_key(usd="0")
    opened = checkout(gateway, key, "10")
    _, intent = pay_and_report(gateway, stripe_fake, opened["session_id"], "checkout.session.completed")
    won, lost = stripe_fake.dispute(intent["id"]), stripe_fake.dispute(intent["id"], amount=541)
    assert webhook(gateway, event("charge.dispute.closed", {**won, "status": "won"})).status_code == 200
    assert webhook(gateway, event("charge.dispute.created", won)).status_code == 200       # late: takes nothing
    assert credits(gateway, key) == 10 and chat(gateway, key).status_code == 200

    before = credits(gateway, key)                                     # 10 USD less the chat's cost
    assert webhook(gateway, event("charge.dispute.closed", {**lost, "status": "lost"})).status_code == 200
    assert webhook(gateway, event("charge.dispute.created", lost)).status_code == 200      # taken back once
    assert before - credits(gateway, key) == Decimal("4.995383194829")
    assert chat(gateway, key).json()["error"]["code"] == "billing_suspended"


# --- Auto top-up ---

def saved_card(gateway, fake, key) -> str:
    opened = checkout(gateway, key, "5")
    _, intent = pay_and_report(gateway, fake, opened["session_id"], "checkout.session.completed",
                               "payment_intent.succeeded")
    return intent["payment_method"]


def auto_topup(gateway, key, **body) -> httpx.Response:
    return api(gateway, "PUT", "/api/billing/auto-topup", key, json=body)


def auto_charges(fake, account) -> list[dict]:
    return [params for params in fake.posted("/v1/payment_intents")
            if params.get("metadata", {}).get("alltoken_account_id") == account]


def test_auto_top_up_charges_once_when_the_balance_falls_below_the_threshold(gateways, stripe_fake):
    gateway, second = gateways
    account, key = gateway.new_key(usd="10")
    refused = auto_topup(gateway, key, enabled=True, threshold_usd="5", amount_usd="20")
    assert refused.status_code == 400 and "no card is saved" in refused.json()["error"]["message"]
    card = saved_card(gateway, stripe_fake, key)                     # balance 15
    turned_on = auto_topup(gateway, key, enabled=True, threshold_usd="5", amount_usd="20")
    assert turned_on.status_code == 200, turned_on.text
    assert turned_on.json() == {"enabled": True, "threshold_usd": "5.000000", "amount_usd": "20.000000",
                                "tax_usd": "1.650000", "total_usd": "21.650000", "card_saved": True,
                                "switched_off_because": None, "card_payments_enabled": True,
                                "minimum_usd": "5.000000"}
    assert api(second, "GET", "/api/billing/auto-topup", key).json() == turned_on.json()
    time.sleep(0.6)
    assert auto_charges(stripe_fake, account) == []                  # above the threshold: nothing

    gateway.cli("credits", "grant", "--account", account, "--usd=-10.5", "--kind", "adjustment")   # 4.5 < 5
    assert wait_for(lambda: credits(gateway, key) == Decimal("24.5"), timeout=10)
    time.sleep(1.0)    # five more checks in each process: still one charge for the one dip
    (charge,) = auto_charges(stripe_fake, account)
    assert charge["amount"] == "2165" and charge["currency"] == "usd" and charge["payment_method"] == card
    assert charge["off_session"] == "true" and charge["confirm"] == "true"
    (headers,) = [h for m, p, params, h in stripe_fake.requests if params is charge]
    auto = [p for p in payments(gateway, key)["data"] if p["kind"] == "auto"]
    assert len(auto) == 1 and auto[0]["status"] == "succeeded" and auto[0]["total_usd"] == "21.650000"
    assert headers["Idempotency-Key"] == f"alltoken-auto-topup-{auto[0]['id']}"
    # Stripe's own event about the same charge comes later and changes nothing
    intent = stripe_fake.intents[auto[0]["stripe_payment_intent_id"]]
    assert webhook(second, event("payment_intent.succeeded", intent)).status_code == 200
    assert credits(gateway, key) == Decimal("24.5") and wait_for(lambda: credits(second, key) == Decimal("24.5"))

    gateway.cli("credits", "grant", "--account", account, "--usd=-20", "--kind", "adjustment")    # a new dip
    assert wait_for(lambda: len(auto_charges(stripe_fake, account)) == 2, timeout=10)
    assert wait_for(lambda: credits(gateway, key) == Decimal("24.5"))


def test_a_declined_auto_top_up_holds_the_account_and_stops_retrying(gateways, stripe_fake):
    gateway, second = gateways
    account, key = gateway.new_key(usd="0")
    saved_card(gateway, stripe_fake, key)
    assert auto_topup(gateway, key, enabled=True, threshold_usd="3", amount_usd="10").status_code == 200
    stripe_fake.decline_off_session = True
    try:
        gateway.cli("credits", "grant", "--account", account, "--usd=-3", "--kind", "adjustment")   # 2 < 3
        assert wait_for(lambda: api(second, "GET", "/v1/key", key).status_code == 403, timeout=10)
        time.sleep(1.0)
        assert len(auto_charges(stripe_fake, account)) == 1
    finally:
        stripe_fake.decline_off_session = False
    error = chat(gateway, key).json()["error"]
    assert error["code"] == "billing_suspended"
    assert "automatic top-up of 10.830000 USD" in error["message"] and "Your card was declined." in error["message"]
    setting = api(gateway, "GET", "/api/billing/auto-topup", key).json()
    assert setting["enabled"] is False and "declined" in setting["switched_off_because"]
    (auto,) = [p for p in payments(gateway, key)["data"] if p["kind"] == "auto"]
    assert auto["status"] == "failed" and credits(gateway, key) == Decimal("2")
    intent = stripe_fake.intents[auto["stripe_payment_intent_id"]]
    assert webhook(gateway, event("payment_intent.payment_failed", intent)).status_code == 200   # once only

    retry = checkout(gateway, key, "5")
    pay_and_report(gateway, stripe_fake, retry["session_id"], "checkout.session.completed")
    assert chat(gateway, key).status_code == 200 and credits(gateway, key) > 2


def test_bad_auto_top_up_settings_are_400(gateway, stripe_fake):
    _, key = gateway.new_key(usd="0")
    for body, param in [({"enabled": True, "threshold_usd": "5", "amount_usd": "1"}, "amount_usd"),
                        ({"enabled": True, "threshold_usd": "-1", "amount_usd": "10"}, "threshold_usd"),
                        ({"enabled": True, "threshold_usd": 5.5, "amount_usd": "10"}, "threshold_usd"),
                        ({"enabled": "yes", "threshold_usd": "5", "amount_usd": "10"}, "enabled")]:
        response = auto_topup(gateway, key, **body)
        assert response.status_code == 400 and response.json()["error"]["param"] == param, response.text
    off = auto_topup(gateway, key, enabled=False, threshold_usd="5", amount_usd="10")
    assert off.status_code == 200 and off.json()["enabled"] is False and off.json()["card_saved"] is False


def test_without_a_stripe_key_top_ups_say_they_are_not_configured(demo_gateway):
    _, key = demo_gateway.new_key(usd="1")
    for method, path, body in [("POST", "/api/billing/checkout", {"amount_usd": "10"}),
                               ("PUT", "/api/billing/auto-topup", {"enabled": False, "threshold_usd": "1",
                                                                   "amount_usd": "10"})]:
        response = api(demo_gateway, method, path, key, json=body)
        assert response.status_code == 501 and response.json()["error"]["code"] == "topups_not_configured"
        assert "top-ups are not configured on this server" in response.json()["error"]["message"]
    hook = httpx.post(demo_gateway.url + "/api/stripe/webhook", content=b"{}", headers={"Stripe-Signature": "t=1"})
    assert hook.status_code == 501
    assert payments(demo_gateway, key) == {"data": [], "billing_hold": None}
