"""The web console in a real browser: Debian's Chromium, driven by Playwright, against the gateway.

Screenshots of every page, light and dark, land in test-artifacts/screenshots/ (git-ignored)."""

import asyncio
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import openai
import pytest
from playwright.async_api import expect

from .console_helpers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    NAV,
    PASSWORD,
    SCREENSHOTS,
    confirm_password,
    grant,
    nav,
    new_email,
    shoot,
    shown_usd,
    sign_in,
    sign_up,
    used_once,
)
from .harness import Gateway


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("console"),
                      env={"ALLTOKEN_ADMIN_EMAIL": ADMIN_EMAIL, "ALLTOKEN_ADMIN_PASSWORD": ADMIN_PASSWORD}).start()
    yield gateway
    gateway.stop()


async def test_sign_up_lands_on_the_overview_signed_in(open_page):
    page = await open_page()
    await page.goto("/")
    await expect(page).to_have_url("/sign-in")                 # signed out: any page asks to sign in
    await page.get_by_role("link", name="Create an account").click()
    email = new_email()
    async with page.expect_request("**/api/auth/signup") as sent:
        await sign_up(page, email)
    assert (await sent.value).post_data_json == {"email": email, "password": PASSWORD, "name": "Ada",
                                                 "accept_terms": True}
    await expect(page).to_have_url("/")
    await expect(page.get_by_text(f"Signed in as {email}.")).to_be_visible()
    me = await page.request.get("/api/auth/me")
    assert me.ok and (await me.json())["email"] == email
    # A regular user's navigation has every developer page and no Admin.
    links = page.get_by_role("navigation", name="Console").get_by_role("link")
    await expect(links).to_have_text(NAV)


async def test_sign_out_then_sign_in_again(open_page):
    page = await open_page()
    email = new_email()
    await sign_up(page, email)
    csrf = next(c["value"] for c in await page.context.cookies() if c["name"] == "atk_csrf")
    async with page.expect_request("**/api/auth/logout") as sent:
        await page.get_by_role("button", name="Sign out").click()
    assert (await sent.value).headers["x-csrf-token"] == csrf
    await expect(page).to_have_url("/sign-in")
    await expect(page.get_by_role("status")).to_have_text("You are signed out.")
    assert (await page.request.get("/api/auth/me")).status == 401
    await page.goto("/models")                                 # a deep link survives signing in
    await expect(page).to_have_url("/sign-in?next=%2Fmodels")
    await sign_in(page, email, PASSWORD)
    await expect(page.get_by_role("heading", name="Models", level=1)).to_be_visible()
    await expect(page).to_have_url("/models")


async def test_a_wrong_password_is_refused_in_words(open_page):
    page = await open_page()
    email = new_email()
    await sign_up(page, email)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url("/sign-in")
    await sign_in(page, email, "not the password")
    await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    await expect(page).to_have_url("/sign-in")
    await expect(page.get_by_role("button", name="Sign in")).to_be_enabled()


async def test_a_taken_email_is_refused_next_to_its_field(open_page):
    page = await open_page()
    email = new_email()
    await sign_up(page, email)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url("/sign-in")   # signed out: its redirect must not race the next page
    await page.goto("/sign-up")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("I accept the AllToken terms of service").check()
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_role("alert")).to_have_text("An account with this email already exists; sign in instead.")


async def test_the_models_page_lists_prices_per_million_tokens_and_searches(open_page, gateway):
    catalog = {m["id"]: m for m in httpx.get(gateway.url + "/v1/models").json()["data"]}
    demo = catalog["alltoken/demo"]
    per_million = {side: f"${Decimal(demo['pricing'][side]) * 1_000_000:.2f}" for side in ("prompt", "completion")}
    page = await open_page()
    await sign_up(page, new_email())
    await nav(page, "Models")
    row = page.get_by_role("row").filter(has=page.get_by_text("alltoken/demo", exact=True))
    await expect(row.get_by_role("cell")).to_have_text(
        [f"{demo['context_length']:,}", per_million["prompt"], per_million["completion"], "—", "demo"])
    await expect(page.get_by_role("status")).to_have_text(f"{len(catalog)} of {len(catalog)} models")

    search = page.get_by_label("Search models")
    await search.fill("embed")
    await expect(page.get_by_role("rowheader")).to_have_count(1)
    await expect(page.get_by_role("rowheader")).to_contain_text("alltoken/demo-embed")
    await search.fill("no such model anywhere")
    await expect(page.get_by_text("No model matches “no such model anywhere”.")).to_be_visible()
    await search.fill("")
    await expect(page.get_by_role("rowheader")).to_have_count(len(catalog))


async def test_the_status_page_shows_provider_health_with_a_latency_chart(open_page, gateway):
    _, key = await asyncio.to_thread(gateway.new_key, "1")
    await asyncio.to_thread(lambda: gateway.sdk(key).chat.completions.create(
        model="alltoken/demo", messages=[{"role": "user", "content": "hello"}]))
    routes = httpx.get(gateway.url + "/status").json()["routes"]
    page = await open_page()
    await sign_up(page, new_email())
    await nav(page, "Status")
    await expect(page.get_by_text(f"All {len(routes)} routes are serving.")).to_be_visible()
    demo = page.get_by_role("row").filter(has=page.get_by_role("cell", name="demo", exact=True))
    await expect(demo.get_by_text("Serving")).to_be_visible()
    await expect(demo.get_by_role("cell").nth(2)).to_have_text("1")             # requests in 5 minutes
    await expect(demo.get_by_role("cell").nth(3)).to_have_text("100.0%")
    chart = page.get_by_role("img", name="Latency p50 and p90 in milliseconds for 1 route")
    await expect(chart).to_be_visible()
    assert (await chart.bounding_box())["height"] > 100


async def test_a_key_made_on_the_keys_page_calls_the_api_then_rotates_and_is_revoked(open_page, gateway):
    """Terms are published after sign-up (which accepts the version then in effect), so the page must offer
    to accept them before the key is made."""
    page = await open_page()
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await sign_up(page, new_email())
    admin = await asyncio.to_thread(gateway.admin_key)
    published = await asyncio.to_thread(gateway.api, "POST", "/admin/terms", admin, json={
        "version": "v1", "effective_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()})
    assert published.status_code == 201, published.text
    account = (await (await page.request.get("/api/auth/me")).json())["account_id"]
    await grant(page, gateway, account, "1", "1.000000")
    await nav(page, "API keys")
    await expect(page.get_by_text("No keys yet.")).to_be_visible()

    await page.get_by_label("Name").fill("ci")
    await page.get_by_label("Spending limit in USD (optional)").fill("0.5")
    await page.get_by_label("Limit resets").select_option("monthly")
    await page.get_by_label("Models (optional)").fill("alltoken/demo")
    await page.get_by_label("IP allow-list (optional)").fill("127.0.0.0/8, ::1/128")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.get_by_role("alert")).to_contain_text("terms of service")
    async with page.expect_request("**/api/account/keys") as sent:
        await page.get_by_role("button", name="Accept the terms and create the key").click()
    await confirm_password(page)                # accepting the terms is the owner's, password confirmed
    assert (await sent.value).post_data_json == {
        "name": "ci", "limit_usd": "0.5", "limit_reset": "monthly", "models": ["alltoken/demo"],
        "allowed_ips": ["127.0.0.0/8", "::1/128"], "expires_at": None, "accept_terms": True}
    await expect(page.get_by_role("heading", name="Your new key: ci")).to_be_visible()
    await expect(page.get_by_text("You accepted the terms of service, version v1.")).to_be_visible()
    secret = await page.get_by_label("The new secret").input_value()
    assert secret.startswith("atk_")
    await page.get_by_role("button", name="Copy", exact=True).click()
    await expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    row = page.get_by_role("row").filter(has=page.get_by_text("ci", exact=True))
    await expect(row.get_by_role("cell")).to_have_text(
        ["alltoken/demo", "$0.00 / $0.50 monthly", "127.0.0.0/8, ::1/128", re.compile(r"\d"), "Never", "Active",
         "RotateRevoke"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await shoot(page, SCREENSHOTS / "keys-new-secret.png")
    await page.get_by_role("button", name="I have copied it").click()
    await expect(page.get_by_label("The new secret")).to_have_count(0)
    assert secret not in await page.content()       # shown once: gone from the page, never listed

    reply = await asyncio.to_thread(lambda: gateway.sdk(secret).chat.completions.create(
        model="alltoken/demo", messages=[{"role": "user", "content": "hello"}]))
    assert reply.choices[0].message.content
    await used_once(page)
    await page.reload()
    await expect(row.get_by_role("cell").nth(4)).to_contain_text("127.0.0.1")          # last used from here
    await expect(row.get_by_role("cell").nth(1)).not_to_have_text("$0.00 / $0.50 monthly")

    await row.get_by_role("button", name="Rotate ci").click()
    await expect(page.get_by_role("heading", name="New secret for ci")).to_be_visible()
    await expect(page.get_by_text("The old secret keeps working until")).to_be_visible()
    rotated = await page.get_by_label("The new secret").input_value()
    assert rotated != secret and rotated.startswith("atk_")
    await expect(row.get_by_text("Old secret works until")).to_be_visible()
    for works in (secret, rotated):          # the old one for its grace period
        assert (await asyncio.to_thread(gateway.api, "GET", "/account/keys", works)).status_code == 200

    await row.get_by_role("button", name="Revoke ci").click()
    await row.get_by_role("button", name="Yes, revoke").click()
    await expect(row.get_by_text(re.compile("^Revoked"))).to_be_visible()
    await expect(row.get_by_role("button")).to_have_count(0)
    for refused in (secret, rotated):
        with pytest.raises(openai.AuthenticationError) as failure:
            await asyncio.to_thread(lambda: gateway.sdk(refused).chat.completions.create(
                model="alltoken/demo", messages=[{"role": "user", "content": "hello"}]))
        assert failure.value.status_code == 401
    audit = await asyncio.to_thread(gateway.cli, "audit-log", "--target", account)
    assert {e["action"] for e in audit} >= {"terms.accept", "keys.create"}
    assert all(e["actor"].startswith("user:") for e in audit if e["action"].startswith(("keys.", "terms.")))


async def test_revoke_all_on_the_keys_page_asks_first(open_page, gateway):
    page = await open_page()
    await sign_up(page, new_email())
    await nav(page, "API keys")
    secrets = []
    for name in ("one", "two"):
        await page.get_by_label("Name").fill(name)
        await page.get_by_role("button", name="Create key").click()
        accept = page.get_by_role("button", name="Accept the terms and create the key")
        await expect(accept.or_(page.get_by_role("heading", name=f"Your new key: {name}"))).to_be_visible()
        if await accept.is_visible():      # when an earlier test of this module published terms
            await accept.click()
            await confirm_password(page)
        await expect(page.get_by_role("heading", name=f"Your new key: {name}")).to_be_visible()
        secrets.append(await page.get_by_label("The new secret").input_value())
    await page.get_by_role("button", name="Revoke all keys").click()
    await page.get_by_role("button", name="Cancel").click()
    assert (await asyncio.to_thread(gateway.api, "GET", "/account/keys", secrets[0])).status_code == 200
    await page.get_by_role("button", name="Revoke all keys").click()
    await page.get_by_role("button", name="Yes, revoke every key").click()
    await expect(page.get_by_text("2 keys revoked.")).to_be_visible()
    await expect(page.get_by_text(re.compile("^Revoked"))).to_have_count(2)
    for secret in secrets:
        assert (await asyncio.to_thread(gateway.api, "GET", "/account/keys", secret)).status_code == 401


async def test_the_billing_page_shows_the_balance_transactions_and_statements(open_page, gateway):
    page = await open_page()
    await sign_up(page, new_email())
    await nav(page, "Billing")
    await expect(page.get_by_text("No transactions yet.")).to_be_visible()
    account = (await (await page.request.get("/api/auth/me")).json())["account_id"]
    await grant(page, gateway, account, "2.5", "2.500000", "--note", "welcome")
    secret = (await asyncio.to_thread(gateway.cli, "keys", "create", "--account", account))["key"]
    reply = await asyncio.to_thread(lambda: gateway.sdk(secret).chat.completions.with_raw_response.create(
        model="alltoken/demo", messages=[{"role": "user", "content": "hello"}]))
    request_id = reply.headers["x-request-id"]
    for _ in range(100):       # the charge reaches the ledger with the usage batch
        entries = (await (await page.request.get("/api/billing/transactions")).json())["data"]
        if len(entries) == 2:
            break
        await asyncio.sleep(0.1)
    balance = (await asyncio.to_thread(gateway.cli, "credits", "balance", "--account", account))["balance_usd"]
    assert Decimal(balance) < Decimal("2.5")

    await page.reload()
    await expect(page.locator(".figure")).to_have_text(shown_usd(balance))
    rows = page.get_by_role("table").get_by_role("row")
    usage = entries[0]
    await expect(rows.nth(1).get_by_role("cell").nth(1)).to_have_text("usage")
    await expect(rows.nth(1).get_by_role("cell").nth(2)).to_have_text(shown_usd(usage["amount_usd"]))
    await expect(rows.nth(1).get_by_role("cell").nth(3)).to_have_text(request_id)
    await expect(rows.nth(2).get_by_role("cell").nth(1)).to_have_text("topup")
    await expect(rows.nth(2).get_by_role("cell").nth(2)).to_have_text("$2.50")
    await expect(rows.nth(2).get_by_role("cell").nth(3)).to_have_text("welcome")

    month = datetime.now(UTC).strftime("%Y-%m")
    link = page.get_by_role("link", name=f"Statement {month} (CSV)")
    async with page.expect_download() as download:
        await link.click()
    statement = Path(await (await download.value).path()).read_text().splitlines()
    assert statement[0] == "account_id,month,item,amount_usd,entries"
    assert statement[-1].startswith(f"{account},{month},closing_balance,") and Decimal(
        statement[-1].split(",")[3]) == Decimal(balance)
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download CSV").click()
    assert request_id in Path(await (await download.value).path()).read_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await shoot(page, SCREENSHOTS / "billing-with-transactions.png")


async def test_the_keyboard_reaches_every_nav_link_and_navigation_moves_focus(open_page):
    page = await open_page()
    await sign_up(page, new_email())
    focused = []   # (text, whether it is in the navigation) of each element Tab reaches
    for _ in range(len(NAV) + 3):
        await page.keyboard.press("Tab")
        focused.append(await page.evaluate("[document.activeElement.textContent.trim(), "
                                           "!!document.activeElement.closest('nav')]"))
    assert focused[:3] == [["Skip to content", False], ["AllToken", False], ["Sign out", False]]
    assert focused[3:] == [[label, True] for label in NAV]
    await page.keyboard.press("Shift+Tab")
    while await page.evaluate("document.activeElement.textContent.trim()") != "Models":
        await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Models", level=1)).to_be_visible()
    assert await page.evaluate("document.activeElement.id") == "main"      # screen readers read the new page
    link = page.get_by_role("link", name="Models", exact=True)
    await expect(link).to_have_attribute("aria-current", "page")


async def test_password_change_and_signing_out_everywhere(open_page):
    page, laptop = await open_page(), await open_page()
    email = new_email()
    await sign_up(page, email)
    await laptop.goto("/sign-in")
    await sign_in(laptop, email, PASSWORD)
    await expect(laptop.get_by_role("heading", name="Overview", level=1)).to_be_visible()

    await nav(page, "Settings")
    await page.get_by_label("Current password").fill("not the password")
    await page.get_by_label("New password", exact=True).fill("a brand new password")
    await page.get_by_label("New password again").fill("a brand new password")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_label("Current password")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_role("alert")).to_have_text("The current password is wrong.")
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("status")).to_have_text("Password changed. Your other sessions were signed out.")

    # The laptop's session ended with the change: its next call sends it to sign in again.
    await laptop.get_by_role("navigation", name="Console").get_by_role("link", name="Models", exact=True).click()
    await expect(laptop).to_have_url("/sign-in?next=%2Fmodels")
    await expect(laptop.get_by_role("status")).to_have_text("Your session ended. Sign in again to continue.")
    await sign_in(laptop, email, "a brand new password")
    await expect(laptop.get_by_role("heading", name="Models", level=1)).to_be_visible()

    await page.get_by_role("button", name="Sign out everywhere").click()
    await page.get_by_role("button", name="Yes, sign out everywhere").click()
    await expect(page).to_have_url("/sign-in")
    await expect(page.get_by_role("status")).to_have_text("You are signed out on every device.")
    await laptop.reload()
    await expect(laptop).to_have_url("/sign-in?next=%2Fmodels")


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_screenshots_of_every_page(open_page, scheme):
    """As the administrator, so that the Admin page is there too."""
    folder = SCREENSHOTS / scheme
    folder.mkdir(parents=True, exist_ok=True)
    page = await open_page(color_scheme=scheme)
    await page.goto("/sign-up")
    await shoot(page, folder / "sign-up.png")
    await page.goto("/sign-in")
    await shoot(page, folder / "sign-in.png")
    await sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    links = page.get_by_role("navigation", name="Console").get_by_role("link")
    await expect(links).to_have_text([*NAV, "Admin"])
    for label in [*NAV, "Admin"]:
        await nav(page, label)
        await expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
        await shoot(page, folder / f"{label.lower().replace(' ', '-')}.png")
    background = await page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert (background == "rgb(15, 17, 21)") == (scheme == "dark")


async def test_the_layout_stacks_on_a_phone(open_page):
    page = await open_page(width=390)
    await sign_up(page, new_email())
    nav_box = await page.get_by_role("navigation", name="Console").bounding_box()
    main_box = await page.get_by_role("main").bounding_box()
    assert nav_box["y"] + nav_box["height"] <= main_box["y"] and main_box["width"] <= 390
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390     # nothing spills sideways
    folder = SCREENSHOTS / "phone"
    folder.mkdir(parents=True, exist_ok=True)
    await shoot(page, folder / "overview.png")


