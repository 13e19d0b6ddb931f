"""The console's Overview, Usage, Billing actions and Routing pages in a real browser, and the endpoints they
added (POST /api/billing/redeem, GET/PUT /api/account/routing), against a gateway with two fake OpenAI
upstreams and a fake Stripe. Screenshots land in test-artifacts/screenshots/."""

import asyncio
import re

import httpx
import pytest
from playwright.async_api import Page, expect

from .console_helpers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SCREENSHOTS,
    confirm_password,
    grant,
    nav,
    new_email,
    shoot,
    shown_usd,
    sign_up,
)
from .fakes.openai_upstream import API_KEY
from .fakes.stripe_upstream import FakeStripe, deliver, event
from .harness import Gateway, wait_for
from .test_stripe_topups import stripe_config

PRICE = {"prompt": "0.000001", "completion": "0.000002"}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def stripe_fake():
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fakes, stripe_fake):
    primary, backup = fakes
    providers = [{"id": "primary", "type": "openai", "api_key": API_KEY, "base_url": primary.base_url, "region": "us"},
                 {"id": "backup", "type": "openai", "api_key": API_KEY, "base_url": backup.base_url, "region": "eu"}]
    models = [{"id": "acme/m", "routes": [{"provider": "primary", "model": "p-model", "pricing": PRICE},
                                          {"provider": "backup", "model": "b-model", "pricing": PRICE}]},
              {"id": "acme/solo", "routes": [{"provider": "primary", "model": "solo", "pricing": PRICE}]}]
    gateway = Gateway(tmp_path_factory.mktemp("console-usage"),
                      {"providers": providers, "models": models, **stripe_config(stripe_fake)},
                      env={"ALLTOKEN_ADMIN_EMAIL": ADMIN_EMAIL, "ALLTOKEN_ADMIN_PASSWORD": ADMIN_PASSWORD})
    yield gateway.start()
    gateway.stop()


# --- helpers ---

async def me(page: Page) -> dict:
    return await (await page.request.get("/api/auth/me")).json()


async def new_key(page: Page, **spec) -> str:
    """A key made through the management API with the page's session (and its CSRF token)."""
    made = await page.request.post("/api/account/keys", headers={"x-csrf-token": (await me(page))["csrf_token"]},
                                   data={"accept_terms": True, **spec})
    assert made.status == 201, await made.text()
    return (await made.json())["key"]


def generation(gateway: Gateway, key: str, request_id: str) -> dict:
    """GET /v1/generation once the usage batch has written the record."""
    def found():
        return httpx.get(gateway.url + "/v1/generation", params={"id": request_id},
                         headers={"Authorization": f"Bearer {key}"}).json().get("data")
    record = wait_for(found, timeout=10)
    assert record, f"no generation {request_id}"
    return record


@pytest.fixture
def signed_in(gateway):
    """A cookie-keeping client signed up as a new account: (client, the sign-up answer with its CSRF token)."""
    with httpx.Client(base_url=gateway.url + "/api", timeout=15) as client:
        signed = client.post("/auth/signup", json={"email": new_email(), "password": PASSWORD})
        assert signed.status_code == 201, signed.text
        yield client, signed.json()


def chat(gateway: Gateway, key: str, model: str = "acme/m") -> httpx.Response:
    return httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}]}, timeout=30)


# --- the management API ---

def test_redeem_with_a_session_needs_the_csrf_token_and_credits_only_the_callers_account(gateway, signed_in):
    (code,) = gateway.cli("codes", "create", "--usd", "2.5", "--uses", "2")["codes"]
    client, signed = signed_in
    refused = client.post("/billing/redeem", json={"code": code})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    csrf = {"x-csrf-token": signed["csrf_token"]}
    redeemed = client.post("/billing/redeem", headers=csrf, json={"code": code.lower()})
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json() == {"amount_usd": "2.500000", "balance_usd": "2.500000"}
    again = client.post("/billing/redeem", headers=csrf, json={"code": code})
    assert again.status_code == 400 and again.json()["error"]["code"] == "already_redeemed"
    assert again.json()["error"]["param"] == "code"
    unknown = client.post("/billing/redeem", headers=csrf, json={"code": "NOPE-NOPE-NOPE-NOPE"})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "invalid_code"
    blank = client.post("/billing/redeem", headers=csrf, json={"code": "  "})
    assert blank.status_code == 400 and blank.json()["error"]["param"] == "code"

    # Another account's key redeems the code's second use for its own account only.
    other, key = gateway.new_key(usd="0")
    by_key = gateway.api("POST", "/billing/redeem", key, json={"code": code})
    assert by_key.status_code == 200 and by_key.json()["balance_usd"] == "2.500000"
    assert gateway.balance(other) == 2.5
    assert client.get("/billing/balance").json()["balance_usd"] == "2.500000"   # unchanged by the other's use
    used_up = gateway.api("POST", "/billing/redeem", gateway.new_key(usd="0")[1], json={"code": code})
    assert used_up.status_code == 400 and used_up.json()["error"]["code"] == "code_used_up"
    assert httpx.post(gateway.url + "/api/billing/redeem", json={"code": code}).status_code == 401


def test_v1_redeem_answers_as_before_through_the_same_function(gateway):
    (code,) = gateway.cli("codes", "create", "--usd", "1")["codes"]
    _, key = gateway.new_key(usd="0")
    bearer = {"Authorization": f"Bearer {key}"}
    sent = httpx.post(gateway.url + "/v1/credits/redeem", headers=bearer, json={"code": code})
    assert sent.status_code == 200 and sent.json() == {"data": {"amount_usd": "1.000000", "balance_usd": "1.000000"}}
    missing = httpx.post(gateway.url + "/v1/credits/redeem", headers=bearer, json={})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "code"


def test_routing_policy_with_a_session_is_validated_audited_and_confined_to_the_account(gateway, signed_in):
    client, signed = signed_in
    csrf = {"x-csrf-token": signed["csrf_token"]}
    empty = client.get("/account/routing").json()
    assert empty == {"allow_providers": None, "deny_providers": [], "allow_regions": None, "deny_regions": [],
                     "providers": [{"id": "primary", "region": "us"}, {"id": "backup", "region": "eu"}]}
    policy = {"allow_providers": ["backup"], "deny_regions": ["us"]}
    assert client.put("/account/routing", json=policy).json()["error"]["code"] == "csrf_failed"
    unknown = client.put("/account/routing", headers=csrf, json={"deny_providers": ["backup", "nowhere"]})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["param"] == "deny_providers"
    assert "no provider 'nowhere' on this server" in unknown.json()["error"]["message"]
    assert client.get("/account/routing").json() == empty        # nothing was written
    bad_shape = client.put("/account/routing", headers=csrf, json={"allow_regions": "eu"})
    assert bad_shape.status_code == 400 and bad_shape.json()["error"]["param"] == "allow_regions"

    saved = client.put("/account/routing", headers=csrf, json=policy)
    assert saved.status_code == 200, saved.text
    assert client.get("/account/routing").json() == {**empty, "allow_providers": ["backup"], "deny_regions": ["us"]}
    audit = gateway.cli("audit-log", "--target", signed["account_id"])
    entry = next(e for e in audit if e["action"] == "accounts.routing")
    assert entry["actor"] == f"user:{signed['user_id']}" and entry["details"] == {
        "routing_policy": {"allow_providers": ["backup"], "deny_regions": ["us"]}}

    # Another account's key sees and changes only its own policy.
    other, key = gateway.new_key(usd="0")
    assert gateway.api("GET", "/account/routing", key).json()["allow_providers"] is None
    assert gateway.api("PUT", "/account/routing", key, json={"deny_providers": ["primary"]}).status_code == 200
    assert client.get("/account/routing").json()["deny_providers"] == []
    _, restricted = gateway.new_key(usd="0", models="acme/m")
    refused = gateway.api("PUT", "/account/routing", restricted, json={})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "key_management_not_allowed"

    cleared = client.put("/account/routing", headers=csrf, json={"allow_providers": [], "deny_regions": None})
    assert cleared.json() == empty
    assert httpx.get(gateway.url + "/api/account/routing").status_code == 401


def test_a_routing_policy_set_over_the_api_routes_requests(gateway):
    _, key = gateway.new_key()
    assert gateway.api("PUT", "/account/routing", key, json={"deny_providers": ["primary"]}).status_code == 200
    served = chat(gateway, key)
    assert served.status_code == 200 and served.headers["x-alltoken-provider"] == "backup"
    refused = chat(gateway, key, "acme/solo")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "provider_not_allowed"
    assert gateway.api("PUT", "/account/routing", key, json={"allow_regions": ["us"]}).status_code == 200
    assert chat(gateway, key).headers["x-alltoken-provider"] == "primary"


def test_the_new_endpoints_are_in_the_openapi_document(gateway):
    paths = httpx.get(gateway.url + "/api/openapi.json").json()["paths"]
    assert set(paths["/account/routing"]) == {"get", "put"} and "post" in paths["/billing/redeem"]
    auto_topup = httpx.get(gateway.url + "/api/openapi.json").json()["components"]["schemas"]["AutoTopUpView"]
    assert {"card_payments_enabled", "minimum_usd"} <= set(auto_topup["properties"])


# --- the pages ---

async def test_an_sdk_request_shows_in_the_usage_charts_and_table_with_its_exact_cost(open_page, gateway):
    page = await open_page()
    email = new_email()
    await sign_up(page, email)
    account = (await me(page))["account_id"]
    await grant(page, gateway, account, "3", "3.000000")
    key = await new_key(page, name="sdk")
    reply = await asyncio.to_thread(lambda: gateway.sdk(key).chat.completions.with_raw_response.create(
        model="acme/m", messages=[{"role": "user", "content": "hello"}]))
    request_id = reply.headers["x-request-id"]
    record = await asyncio.to_thread(generation, gateway, key, request_id)
    for _ in range(100):       # /v1/generation may answer before the usage batch is in the database
        listed = (await (await page.request.get("/api/usage/generations")).json())["data"]
        if listed:
            break
        await asyncio.sleep(0.1)
    assert [(row["id"], row["cost_usd"]) for row in listed] == [(request_id, record["cost_usd"])]
    cost = shown_usd(record["cost_usd"])
    assert cost != "$0.00"

    await nav(page, "Usage")
    totals = page.get_by_role("region", name=re.compile(r"^From \d{4}-\d{2}-\d{2} to"))
    await expect(totals.locator("dd").first).to_have_text(cost)
    await expect(page.get_by_role("img", name=f"Spend by day: 1 request, {cost} in total")).to_be_visible()
    by_model = page.get_by_role("region", name="By model")
    await expect(by_model.get_by_role("img")).to_have_accessible_name(f"Spend by model: 1 request, {cost} in total")
    await expect(by_model.get_by_role("row", name=re.compile(r"^acme\/m"))).to_contain_text(cost)
    await expect(page.get_by_role("region", name="By provider").get_by_role("row", name=re.compile("^primary"))
                 ).to_contain_text(cost)
    by_key = page.get_by_role("region", name="By API key")
    await expect(by_key.get_by_role("row", name=re.compile(r"^sdk \(")).get_by_role("cell")).to_have_text(
        ["1", "0", "21 / 7", cost])
    requests = page.get_by_role("region", name="Requests")
    row = requests.get_by_role("row").filter(has_text=request_id)
    await expect(row.get_by_role("cell")).to_have_text(
        [re.compile(request_id), re.compile("acme/m"), "primary · p-model", "21 / 7", cost, re.compile(r"\d ms$"),
         "ok"])
    await expect(requests.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", "/api/usage/generations.csv")
    await page.get_by_label("Charts show").select_option("requests")
    await expect(page.get_by_role("img", name="Requests by day: 1 request, " f"{cost} in total")).to_be_visible()
    await page.get_by_label("Period").select_option("7")
    await expect(totals).to_contain_text("1 request in the period.")
    await page.wait_for_load_state("networkidle")     # every chart redrawn for the new period
    await shoot(page, SCREENSHOTS / "usage.png")

    await nav(page, "Overview")
    balance = (await (await page.request.get("/api/billing/balance")).json())["balance_usd"]
    await expect(page.get_by_role("region", name="Balance")).to_contain_text(shown_usd(balance))
    await expect(page.get_by_role("region", name="Spend today")).to_contain_text(f"{cost} · 1 request")
    await expect(page.get_by_role("region", name="Spend this month")).to_contain_text(f"{cost} · 1 request")
    await expect(page.get_by_role("img", name=f"Requests per day in the last 30 days: 1 request, {cost} in total")
                 ).to_be_visible()
    await shoot(page, SCREENSHOTS / "overview-with-usage.png")


async def test_a_new_account_sees_empty_usage_in_words(open_page):
    page = await open_page()
    await sign_up(page, new_email())
    await nav(page, "Usage")
    await expect(page.get_by_text("No requests in this period.")).to_have_count(4)
    await expect(page.get_by_text("No requests yet.")).to_be_visible()


async def test_redeeming_a_code_on_the_billing_page_changes_the_balance(open_page, gateway):
    (code,) = (await asyncio.to_thread(gateway.cli, "codes", "create", "--usd", "4.25"))["codes"]
    page = await open_page()
    await sign_up(page, new_email())
    await nav(page, "Billing")
    balance = page.get_by_role("region", name="Balance")
    await expect(balance.locator(".figure")).to_have_text("$0.00")
    redeem = page.get_by_role("region", name="Redeem a code")
    await redeem.get_by_label("Code").fill("no-such-code")
    await redeem.get_by_role("button", name="Redeem").click()
    await expect(redeem.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    await expect(redeem.get_by_role("alert")).to_have_text("This code does not exist; check it for typos.")
    await redeem.get_by_label("Code").fill(code.lower())
    await redeem.get_by_role("button", name="Redeem").click()
    await expect(redeem.get_by_role("status")).to_have_text("Added $4.25; your balance is now $4.25.")
    await expect(balance.locator(".figure")).to_have_text("$4.25")
    first = page.get_by_role("region", name="Transactions").get_by_role("row").nth(1)
    await expect(first.get_by_role("cell")).to_have_text([re.compile("."), "promo", "$4.25", f"code ...{code[-4:]}"])


async def test_alert_checkout_webhook_top_up_and_auto_top_up_on_the_billing_page(open_page, gateway, stripe_fake):
    page = await open_page()
    email = new_email()
    await sign_up(page, email)
    await nav(page, "Billing")

    alert = page.get_by_role("region", name="Low-balance alert")
    await expect(alert.get_by_role("status")).to_have_text("Off.")
    await alert.get_by_label("Alert below (USD)").fill("3")
    await alert.get_by_role("button", name="Save alert").click()
    await expect(alert.get_by_role("status")).to_contain_text(f"On: an email to {email} when your balance falls below "
                                                              "$3.00.")
    assert (await (await page.request.get("/api/billing/alerts")).json())["low_balance_usd"] == "3.000000"

    auto = page.get_by_role("region", name="Auto top-up")
    await expect(auto).to_contain_text("No card is saved yet")
    await auto.get_by_label("Top up automatically").check()
    await auto.get_by_role("button", name="Save auto top-up").click()
    await expect(auto.get_by_role("alert")).to_contain_text("card")       # no card to charge yet: refused in words

    # Top up by card: the browser goes to Stripe's Checkout page (stood in for here), Stripe reports the payment.
    await page.route("https://checkout.stripe.com/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<title>Stripe Checkout</title><h1>Pay</h1>"))
    topup = page.get_by_role("region", name="Top up by card")
    await topup.get_by_label("Amount in USD").fill("4")
    await topup.get_by_role("button", name="Pay by card").click()
    await expect(topup.get_by_role("alert")).to_contain_text("smallest top-up is 5.000000 USD")
    await topup.get_by_label("Amount in USD").fill("20")
    await topup.get_by_role("button", name="Pay by card").click()
    await expect(page).to_have_url(re.compile(r"^https://checkout\.stripe\.com/c/pay/cs_"))
    session_id = page.url.rsplit("/", 1)[1]
    session, intent = stripe_fake.pay(session_id)
    assert session["client_reference_id"] == (await me(page))["account_id"]
    for kind, paid in (("payment_intent.succeeded", intent), ("checkout.session.completed", session)):
        delivered = await asyncio.to_thread(deliver, gateway.url + "/api/stripe/webhook", event(kind, paid))
        assert delivered.status_code == 200, delivered.text

    await page.goto("/billing")
    await expect(page.get_by_role("region", name="Balance").locator(".figure")).to_have_text("$20.00")
    payment = page.get_by_role("region", name="Card payments").get_by_role("row").nth(1)
    await expect(payment.get_by_role("cell").nth(2)).to_have_text("succeeded")
    await expect(payment.get_by_role("cell").nth(3)).to_have_text("$20.00")
    await expect(payment.get_by_role("cell").nth(5)).to_have_text("$21.65")     # 8.25% tax on top
    transactions = page.get_by_role("region", name="Transactions")
    await expect(transactions.get_by_role("row").nth(1).get_by_role("cell").nth(2)).to_have_text("$20.00")

    auto = page.get_by_role("region", name="Auto top-up")
    await expect(auto).to_contain_text("A card is saved.")
    await auto.get_by_label("Top up automatically").check()
    await auto.get_by_label("When the balance falls below (USD)").fill("5")
    await auto.get_by_label("Buy this much credit (USD)").fill("12")
    await auto.get_by_role("button", name="Save auto top-up").click()
    await expect(auto.get_by_role("status")).to_have_text("Auto top-up saved.")
    await page.reload()
    await expect(page.get_by_role("region", name="Auto top-up")).to_contain_text(
        "On: when your balance falls below $5.00, your card is charged $12.99 ($12.00 of credit plus $0.99 tax).")
    await expect(page.get_by_label("Buy this much credit (USD)")).to_have_value("12.00")
    await expect(page.get_by_role("region", name="Low-balance alert").get_by_role("status")).to_contain_text(
        f"On: an email to {email} when your balance falls below $3.00.")
    await shoot(page, SCREENSHOTS / "billing-actions.png")
    await alert.get_by_label("Send it to (optional)").fill("ops@example.com")    # elsewhere: the password again
    await alert.get_by_role("button", name="Save alert").click()
    await confirm_password(page)
    await expect(alert.get_by_role("status")).to_contain_text("On: an email to ops@example.com")


async def test_the_routing_page_saves_the_policy_and_requests_follow_it(open_page, gateway):
    page = await open_page()
    await sign_up(page, new_email())
    await grant(page, gateway, (await me(page))["account_id"], "1", "1.000000")
    key = await new_key(page)
    await nav(page, "Routing")
    policy = page.get_by_role("region", name="Your routing policy")
    await expect(policy).to_contain_text("Now: no policy: every provider and region may serve you.")
    models = page.get_by_role("region", name="What your account can use")
    await expect(models.get_by_role("row", name=re.compile(r"^acme\/m"))).to_contain_text("primary, backup")

    await policy.get_by_label("Use primary").select_option("never")
    await policy.get_by_label("Only these regions (optional)").fill("eu, us")
    await policy.get_by_role("button", name="Save policy").click()
    await expect(policy.get_by_role("status")).to_have_text(
        "Saved. never providers primary; only regions eu, us.")
    await page.reload()
    policy = page.get_by_role("region", name="Your routing policy")
    await expect(policy).to_contain_text("Now: never providers primary; only regions eu, us.")
    await expect(policy.get_by_label("Use primary")).to_have_value("never")
    await expect(policy.get_by_label("Use backup")).to_have_value("any")
    await expect(policy.get_by_label("Only these regions (optional)")).to_have_value("eu, us")
    await expect(models.get_by_role("row", name=re.compile(r"^acme\/m"))).to_contain_text("backup")
    await expect(models.get_by_role("row", name=re.compile(r"^acme\/m"))).not_to_contain_text("primary")
    await expect(models.get_by_role("row", name=re.compile(r"^acme\/solo"))).to_have_count(0)
    await shoot(page, SCREENSHOTS / "routing.png")

    served = await asyncio.to_thread(chat, gateway, key)
    assert served.status_code == 200 and served.headers["x-alltoken-provider"] == "backup"
    refused = await asyncio.to_thread(chat, gateway, key, "acme/solo")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "provider_not_allowed"

    await policy.get_by_label("Use backup").select_option("never")
    await policy.get_by_role("button", name="Save policy").click()
    await expect(policy.get_by_role("status")).to_have_text(
        "Saved. never providers backup, primary; only regions eu, us.")
    await expect(models.get_by_text("Your policy leaves no model to call.")).to_be_visible()
    await policy.get_by_role("button", name="Remove the policy").click()
    await expect(policy).to_contain_text("Now: no policy: every provider and region may serve you.")
    served = await asyncio.to_thread(chat, gateway, key, "acme/solo")
    assert served.status_code == 200 and served.headers["x-alltoken-provider"] == "primary"
