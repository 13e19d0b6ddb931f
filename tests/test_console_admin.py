"""The console's admin area in a real browser (Debian's Chromium, driven by Playwright): an administrator
finds an account, corrects its credit with a reason, suspends it with a reason, and the account's user
sees why on their pages while its API key is refused; then reinstates it. Screenshots of every admin page
land in test-artifacts/screenshots/admin/."""

import asyncio
import re
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from playwright.async_api import Page, expect

from .console_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, SCREENSHOTS, grant, nav, new_email, shoot, sign_in, sign_up
from .harness import Gateway

ADMIN_SECTIONS = ["Accounts", "Providers & routes", "Pricing & fees", "Uncollected cost", "Redemption codes",
                  "Terms versions",
                  "Audit log", "Moderation log", "Platform analytics"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("console-admin"),
                      env={"ALLTOKEN_ADMIN_EMAIL": ADMIN_EMAIL, "ALLTOKEN_ADMIN_PASSWORD": ADMIN_PASSWORD}).start()
    yield gateway
    gateway.stop()


async def admin_page(open_page, **options) -> Page:
    page = await open_page(**options)
    await page.goto("/sign-in")
    await sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    return page


async def section(page: Page, label: str) -> None:
    """Open an admin sub-page from the Admin navigation."""
    await page.get_by_role("navigation", name="Admin").get_by_role("link", name=label, exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(label)
    await expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)


async def key_status(gateway, key: str, wanted: int) -> httpx.Response:
    """GET /api/account/keys with `key` until it answers `wanted` (every process applies a state change
    through the change feed within a second)."""
    for _ in range(100):
        answer = await asyncio.to_thread(gateway.api, "GET", "/account/keys", key)
        if answer.status_code == wanted:
            return answer
        await asyncio.sleep(0.1)
    raise AssertionError(f"the key never got {wanted}: {answer.status_code} {answer.text}")


async def test_an_admin_corrects_credit_and_suspends_an_account_and_the_user_sees_why(open_page, gateway):
    user = await open_page()
    email = new_email()
    await sign_up(user, email)
    account = (await (await user.request.get("/api/auth/me")).json())["account_id"]
    await grant(user, gateway, account, "1", "1.000000")
    key = (await asyncio.to_thread(gateway.cli, "keys", "create", "--account", account))["key"]

    admin = await admin_page(open_page)
    await nav(admin, "Admin")
    await section(admin, "Accounts")
    await admin.get_by_label("Search accounts").fill(email.upper())
    await admin.get_by_role("button", name="Search").click()
    await expect(admin.get_by_role("rowheader")).to_have_count(1)
    await admin.get_by_role("link", name=email).click()
    await expect(admin.get_by_role("heading", name=email, level=1)).to_be_visible()
    await expect(admin.locator(".balance")).to_have_text("$1.00")

    # A credit adjustment needs a reason; it changes the balance and lands in the audit log.
    await admin.get_by_label("Correction").select_option("adjustments")
    await admin.get_by_label("Amount in USD").fill("2.5")
    await admin.get_by_label("Reason for the credit change").fill("goodwill after the outage")
    await admin.get_by_role("button", name="Record the correction").click()
    await expect(admin.get_by_role("status").filter(has_text="Recorded")).to_have_text(
        "Recorded $2.50. The balance is now $3.50.")
    await expect(admin.locator(".balance")).to_have_text("$3.50")
    assert Decimal((await (await user.request.get("/api/billing/balance")).json())["balance_usd"]) == Decimal("3.5")
    # Refunds are capped at unspent paid credit: the API's reason is shown in words.
    await admin.get_by_label("Correction").select_option("refunds")
    await admin.get_by_label("Amount in USD").fill("1000")
    await admin.get_by_label("Reason for the credit change").fill("customer asked")
    await admin.get_by_role("button", name="Record the correction").click()
    await expect(admin.get_by_role("alert").filter(has_text="refund")).to_be_visible()
    await expect(admin.locator(".balance")).to_have_text("$3.50")

    me = await (await admin.request.get("/api/auth/me")).json()
    await section(admin, "Audit log")
    await admin.get_by_label("Target").fill(account)
    await admin.get_by_role("button", name="Filter").click()
    adjustment = admin.get_by_role("row").filter(has_text="credits.adjustment")
    await expect(adjustment.get_by_role("cell").nth(1)).to_have_text(f"user:{me['user_id']}")
    await expect(adjustment.get_by_role("cell").nth(5)).to_contain_text("goodwill after the outage")
    csv_link = admin.get_by_role("link", name="Download CSV")
    assert await csv_link.get_attribute("href") == f"/api/admin/audit-log.csv?target={account}"

    # Suspend with a reason: the user's pages say so and why, and the API key is refused.
    await admin.go_back()
    await expect(admin.get_by_role("heading", name=email, level=1)).to_be_visible()
    await admin.get_by_label("Action", exact=True).select_option("suspended")
    await admin.get_by_label("Reason for the action").fill("chargeback fraud under review")
    await admin.get_by_role("button", name="Apply").click()
    await expect(admin.get_by_role("status").filter(has_text="now suspended")).to_be_visible()
    history = admin.get_by_role("row").filter(has_text="chargeback fraud under review")
    await expect(history.get_by_role("cell")).to_have_text(
        [re.compile(r"\d"), "Active", "Suspended", "chargeback fraud under review", f"user:{me['user_id']}"])
    refused = (await key_status(gateway, key, 403)).json()["error"]
    assert refused["code"] == "account_suspended" and "chargeback fraud under review" in refused["message"]

    for label in ("Models", "Overview"):
        await nav(user, label)
        banner = user.get_by_role("region", name="Account notices")
        await expect(banner.get_by_role("alert")).to_contain_text("Your account is suspended.")
        await expect(banner).to_contain_text("Reason: chargeback fraud under review.")
    SCREENSHOTS.joinpath("admin").mkdir(parents=True, exist_ok=True)
    await shoot(user, SCREENSHOTS / "admin" / "user-sees-suspension.png")

    # Reinstate: the banner goes, the key works again.
    await admin.get_by_label("Action", exact=True).select_option("active")
    await admin.get_by_label("Reason for the action").fill("appeal accepted")
    await admin.get_by_role("button", name="Apply").click()
    await expect(admin.get_by_role("status").filter(has_text="now active")).to_be_visible()
    await key_status(gateway, key, 200)
    await nav(user, "Models")
    await expect(user.get_by_role("region", name="Account notices")).to_have_count(0)


async def test_a_warning_shows_as_a_notice_without_blocking_the_key(open_page, gateway):
    user = await open_page()
    await sign_up(user, new_email())
    account = (await (await user.request.get("/api/auth/me")).json())["account_id"]
    key = (await asyncio.to_thread(gateway.cli, "keys", "create", "--account", account))["key"]
    admin = await asyncio.to_thread(gateway.admin_key)
    warned = await asyncio.to_thread(gateway.api, "POST", f"/admin/accounts/{account}/enforcement", admin,
                                     json={"state": "warned", "reason": "prompts that break the usage policy"})
    assert warned.status_code == 200
    await user.reload()
    banner = user.get_by_role("region", name="Account notices")
    await expect(banner.get_by_role("status")).to_contain_text("Your account received a warning.")
    await expect(banner).to_contain_text("Reason: prompts that break the usage policy.")
    await key_status(gateway, key, 200)


async def test_the_moderation_log_page_shows_exactly_the_five_fields(open_page, gateway):
    account, key = await asyncio.to_thread(gateway.new_key, "5")
    await asyncio.to_thread(lambda: gateway.sdk(key).images.generate(
        model="alltoken/demo-image", prompt="a secret prompt about a fox", moderation="low", size="256x256"))
    page = await admin_page(open_page)
    await page.goto("/admin")
    await section(page, "Moderation log")
    await expect(page.get_by_role("columnheader")).to_have_text(["Time", "Account", "Task", "Model", "Moderation"])
    await page.get_by_label("Account id").fill(account)
    await page.get_by_role("button", name="Filter").click()
    row = page.get_by_role("row").filter(has_text=account)
    await expect(row.get_by_role("cell")).to_have_count(5)
    await expect(row.get_by_role("cell").nth(3)).to_have_text("alltoken/demo-image")
    await expect(row.get_by_role("cell").nth(4)).to_have_text("low")
    assert "secret prompt" not in await page.content()


async def test_codes_made_on_the_page_are_shown_once_and_counted_when_redeemed(open_page, gateway):
    page = await admin_page(open_page)
    await page.goto("/admin/codes")
    await expect(page.get_by_role("heading", name="Redemption codes", level=1)).to_be_visible()
    await page.get_by_label("Credit per redemption in USD").fill("4")
    await page.get_by_label("How many codes").fill("2")
    await page.get_by_role("button", name="Make codes").click()
    codes = (await page.get_by_label("The new codes").input_value()).splitlines()
    assert len(codes) == 2 and all(re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code) for code in codes)
    _, key = await asyncio.to_thread(gateway.new_key, "0")
    redeemed = await asyncio.to_thread(httpx.post, gateway.url + "/v1/credits/redeem",
                                       headers={"Authorization": f"Bearer {key}"}, json={"code": codes[0]})
    assert redeemed.status_code == 200, redeemed.text
    await page.get_by_role("button", name="I have copied them").click()
    await expect(page.get_by_label("The new codes")).to_have_count(0)
    await page.reload()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=f"…{codes[0][-4:]}"))
    await expect(row.get_by_role("cell").nth(2)).to_have_text("1")        # redeemed once
    await expect(row.get_by_role("cell").nth(3)).to_have_text("0")        # no use left
    assert codes[1] not in await page.content()


async def test_uncollected_cost_is_listed_and_flagged_on_the_account(open_page, gateway):
    account = (await asyncio.to_thread(gateway.cli, "accounts", "create", "--email", new_email()))["id"]
    await asyncio.to_thread(gateway.cli, "credits", "grant", "--account", account, "--usd", "0.5")
    with sqlite3.connect(gateway.db_path) as db:  # a request charged the 0.50 USD left of the 2.75 USD it cost
        db.execute("INSERT INTO ledger_entries (account_id, kind, amount_units, request_id, uncollected_units, "
                   "created_at) VALUES (?, 'usage', ?, ?, ?, ?)",
                   (account, -5 * 10**11, f"gen-{account}", 225 * 10**10,
                    datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")))
    page = await admin_page(open_page)
    await nav(page, "Admin")
    await section(page, "Uncollected cost")
    flagged = page.get_by_role("row").filter(has_text="$2.25")
    await expect(flagged).to_have_count(1)
    await flagged.get_by_role("link").click()
    await expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    await expect(page.locator(".pill-uncollected")).to_have_text("$2.25")
    await expect(page.get_by_text(account)).to_be_visible()


async def test_a_new_terms_version_is_published_from_the_page(open_page, gateway):
    page = await admin_page(open_page)
    await page.goto("/admin/terms")
    await page.get_by_label("Version", exact=True).fill("2031-01")
    await page.get_by_label("Takes effect").fill("2031-01-01T00:00")
    await page.get_by_label("Summary of the changes (optional)").fill("Clearer refund rules.")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.get_by_role("status").filter(has_text="published")).to_contain_text("Version 2031-01 published")
    await expect(page.get_by_role("row").filter(has_text="2031-01").get_by_role("cell").nth(2)).to_have_text(
        "Clearer refund rules.")
    await page.get_by_label("Version", exact=True).fill("2031-01")      # the same version again: refused in words
    await page.get_by_role("button", name="Publish").click()
    await expect(page.get_by_role("alert")).to_contain_text("2031-01")


async def test_a_models_routes_are_replaced_and_reset_from_the_page(open_page, gateway):
    page = await admin_page(open_page)
    await page.goto("/admin/providers")
    await page.get_by_label("Model", exact=True).select_option("alltoken/demo")
    await expect(page.get_by_label("Upstream model of route 1")).to_have_value("demo")
    await page.get_by_label("Strategy").select_option("weighted")
    await page.get_by_label("Weight of route 1").fill("3")
    await page.get_by_role("button", name="Replace the routes").click()
    await expect(page.get_by_role("status").filter(has_text="Routes replaced")).to_be_visible()
    admin = await asyncio.to_thread(gateway.admin_key)
    routes = (await asyncio.to_thread(gateway.api, "GET", "/admin/models/alltoken/demo/routes", admin)).json()
    assert routes["strategy"] == "weighted" and [(r["provider"], r["model"], r["weight"]) for r in routes["routes"]] \
        == [("demo", "demo", 3.0)]
    catalog_price = routes["routes"][0]["pricing"]

    await page.get_by_label("Prompt price of route 1").fill("1,234.25")          # USD per million tokens
    await page.get_by_label("Completion price of route 1").fill("a lot")
    await page.get_by_role("button", name="Replace the routes").click()
    await expect(page.get_by_role("alert").first).to_contain_text("USD per million tokens")
    await page.get_by_label("Completion price of route 1").fill("1.5")
    await page.get_by_role("button", name="Replace the routes").click()
    await expect(page.get_by_role("status").filter(has_text="Routes replaced")).to_be_visible()
    priced = (await asyncio.to_thread(gateway.api, "GET", "/admin/models/alltoken/demo/routes", admin)).json()
    assert priced["routes"][0]["pricing"] == {**catalog_price, "prompt": "0.00123425", "completion": "0.0000015"}
    await expect(page.get_by_label("Prompt price of route 1")).to_have_value("1,234.25")
    await page.get_by_label("Upstream model of route 1").fill("")
    await page.get_by_role("button", name="Add a route").click()
    await page.get_by_label("Upstream model of route 2").fill("demo-embed")
    await page.get_by_role("button", name="Remove route 1").click()
    await expect(page.get_by_label("Upstream model of route 2")).to_have_count(0)
    await page.get_by_role("button", name="Reset to the config file").click()
    await expect(page.get_by_role("status").filter(has_text="Back to the routes")).to_be_visible()
    await expect(page.get_by_label("Strategy")).to_have_value("priority")
    await expect(page.get_by_label("Weight of route 1")).to_have_value("1")


async def test_non_admins_have_no_admin_area(open_page):
    page = await open_page()
    await sign_up(page, new_email())
    await expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Admin")).to_have_count(0)
    await page.goto("/admin/accounts")
    await expect(page.get_by_role("heading", name="Page not found", level=1)).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_screenshots_of_every_admin_page(open_page, gateway, scheme):
    account, key = await asyncio.to_thread(gateway.new_key, "2")
    await asyncio.to_thread(lambda: gateway.sdk(key).chat.completions.create(
        model="alltoken/demo", messages=[{"role": "user", "content": "hello"}]))
    folder = SCREENSHOTS / "admin" / scheme
    folder.mkdir(parents=True, exist_ok=True)
    page = await admin_page(open_page, color_scheme=scheme)
    await nav(page, "Admin")
    await shoot(page, folder / "admin.png")
    for label in ADMIN_SECTIONS:
        await section(page, label)
        await shoot(page, folder / f"{label.lower().replace(' & ', '-').replace(' ', '-')}.png")
    await page.goto(f"/admin/accounts/{account}")
    await expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    await expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
    await shoot(page, folder / "account.png")


async def test_the_keyboard_reaches_the_admin_navigation(open_page):
    page = await admin_page(open_page)
    await nav(page, "Admin")
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.textContent.trim()") == "Pricing & fees":
            break
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Pricing & fees", level=1)).to_be_visible()
    link = page.get_by_role("navigation", name="Admin").get_by_role("link", name="Pricing & fees")
    await expect(link).to_have_attribute("aria-current", "page")
    await expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Admin")).to_have_attribute(
        "aria-current", "page")
