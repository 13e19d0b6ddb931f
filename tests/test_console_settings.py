"""The console's account pages in a real browser: forgot password (the email caught by a local SMTP server),
the reset page, terms and the image-upload warranty, the data export and deleting the account."""

import asyncio
import json
import re

import pytest
from playwright.async_api import Page, expect

from .console_helpers import PASSWORD, SCREENSHOTS, confirm_password, nav, new_email, shoot, sign_in, sign_up
from .fakes.smtp_inbox import Inbox, body_of, running_inbox
from .harness import Gateway

NEW_PASSWORD = "my brand new password"


@pytest.fixture(scope="module")
def inbox():
    with running_inbox() as mail:
        yield mail


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, inbox):
    # No console_url: the emailed link points at the server's own address, which is what the browser opens.
    smtp = {"host": "127.0.0.1", "port": inbox[1], "security": "none", "from": "accounts@alltoken.test"}
    gateway = Gateway(tmp_path_factory.mktemp("console-settings"), {"smtp": smtp}).start()
    yield gateway
    gateway.stop()


async def emailed_link(inbox: Inbox, email: str) -> str:
    for _ in range(100):
        for _, recipients, raw in inbox.messages:
            if recipients == [email]:
                return re.search(r"https?://\S+", body_of(raw)[1]).group(0)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no email reached {email}")


async def test_forgot_password_email_reset_page_then_sign_in_with_the_new_password(open_page, gateway, inbox):
    page = await open_page()
    email = new_email()
    await sign_up(page, email)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url("/sign-in")
    await page.get_by_role("link", name="Forgot your password?").click()
    await expect(page.get_by_role("heading", name="Reset your password", level=1)).to_be_visible()
    await shoot(page, SCREENSHOTS / "forgot-password.png")
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Email me a reset link").click()
    await expect(page.get_by_role("status")).to_contain_text(f"If an account uses {email}, a link")

    link = await emailed_link(inbox[0], email)
    assert link.startswith(gateway.url + "/reset-password?token=")
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Choose a new password", level=1)).to_be_visible()
    await shoot(page, SCREENSHOTS / "reset-password.png")
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("New password again").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set new password").click()
    await expect(page).to_have_url("/sign-in")
    await expect(page.get_by_role("status")).to_contain_text("Your new password is set")
    await sign_in(page, email, PASSWORD)
    await expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    await sign_in(page, email, NEW_PASSWORD)
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()

    await page.goto(link)                                   # the link works once
    await page.get_by_label("New password", exact=True).fill(PASSWORD)
    await page.get_by_label("New password again").fill(PASSWORD)
    await page.get_by_role("button", name="Set new password").click()
    await expect(page.get_by_role("alert")).to_contain_text("This reset link is not valid")


def terms_section(page: Page):
    return page.get_by_role("region", name="Terms of service")


async def test_terms_and_the_image_upload_warranty_are_accepted_in_settings(open_page, gateway):
    page = await open_page()
    await sign_up(page, new_email())
    await asyncio.to_thread(gateway.cli, "terms", "publish", "--version", "2026-03", "--effective",
                            "2026-03-01T00:00:00Z", "--summary", "Clearer refund rules.")
    await nav(page, "Settings")
    terms = terms_section(page)
    await expect(terms.get_by_text("You have not accepted version 2026-03")).to_be_visible()
    await expect(terms.get_by_text("Clearer refund rules.")).to_be_visible()
    await terms.get_by_role("button", name="Accept version 2026-03").click()
    await confirm_password(page)                # the owner's, with the password confirmed
    await expect(terms.get_by_text("You accept the terms in effect.")).to_be_visible()
    await expect(terms.get_by_text(re.compile(r"^version 2026-03 on "))).to_be_visible()
    await terms.get_by_role("button", name="I give the image-upload warranty").click()
    given = re.compile(r"You gave the warranty on .* \(terms version 2026-03\)")
    await expect(terms.get_by_text(given)).to_be_visible()
    status = await (await page.request.get("/api/terms/image-uploads")).json()
    assert status["image_uploads"] is True and status["version"] == "2026-03"
    await shoot(page, SCREENSHOTS / "settings.png")
    dark = await open_page(color_scheme="dark", width=420)
    await sign_up(dark, new_email())
    await nav(dark, "Settings")
    await shoot(dark, SCREENSHOTS / "settings-dark-narrow.png")


async def test_the_data_export_downloads_the_accounts_json(open_page):
    page = await open_page()
    email = new_email()
    await sign_up(page, email)
    me = await (await page.request.get("/api/auth/me")).json()
    await nav(page, "Settings")
    await page.get_by_role("button", name="Download my data").click()
    dialog = page.get_by_role("dialog", name="Confirm your password")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_text("Not downloaded: the password was not confirmed.")).to_be_visible()
    await page.get_by_role("button", name="Download my data").click()
    async with page.expect_download() as started:
        await confirm_password(page)
    download = await started.value
    assert download.suggested_filename == f"{me['account_id']}.json"
    document = json.loads(open(await download.path()).read())
    assert document["account"]["id"] == me["account_id"] and document["users"][0]["email"] == email


async def test_deleting_the_account_needs_its_id_and_the_password(open_page):
    page = await open_page()
    email = new_email()
    await sign_up(page, email)
    me = await (await page.request.get("/api/auth/me")).json()
    await nav(page, "Settings")
    section = page.get_by_role("region", name="Delete account")
    await expect(section.get_by_text("What the law makes us keep")).to_be_visible()
    await section.get_by_role("button", name="Delete my account…").click()
    delete = section.get_by_role("button", name="Delete this account for good")
    await expect(delete).to_be_disabled()
    await section.get_by_label(re.compile("Type your account id")).fill(me["account_id"])
    await section.get_by_label("Your password").fill("not my password")
    await delete.click()
    await expect(section.get_by_text("The password is wrong")).to_be_visible()
    await section.get_by_label("Your password").fill(PASSWORD)
    await delete.click()
    await expect(page).to_have_url("/sign-in")
    await expect(page.get_by_role("status")).to_contain_text("Your account is deleted")
    await sign_in(page, email, PASSWORD)
    await expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
