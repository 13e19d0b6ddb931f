"""Shared steps of the console's browser tests: accounts, navigation, waiting for the server, screenshots."""

import asyncio
import time
from pathlib import Path

from playwright.async_api import Page, expect

PASSWORD = "correct horse battery"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "the admin's long password"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
NAV = ["Overview", "API keys", "Usage", "Billing", "Models", "Routing", "Status", "Studio", "Team", "Settings"]


def new_email() -> str:
    return f"dev-{time.monotonic_ns()}@example.com"


async def sign_up(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/sign-up")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Name (optional)").fill("Ada")
    await page.get_by_label("Password").fill(password)
    await page.get_by_label("I accept the AllToken terms of service").check()
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()


async def sign_in(page: Page, email: str, password: str) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def confirm_password(page: Page, password: str = PASSWORD) -> None:
    """Answer the console's password prompt: actions that need the password fresh (accepting terms, the
    export, ...) ask for it, then go on."""
    dialog = page.get_by_role("dialog", name="Confirm your password")
    await dialog.get_by_label("Password").fill(password)
    await dialog.get_by_role("button", name="Confirm").click()
    await expect(dialog).to_be_hidden()


async def nav(page: Page, label: str) -> None:
    await page.get_by_role("navigation", name="Console").get_by_role("link", name=label, exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(label)


async def grant(page: Page, gateway, account: str, usd: str, balance: str, *options: str) -> None:
    """Credit the account with the CLI, then wait until the server sees it (its next poll of the ledger)."""
    await asyncio.to_thread(gateway.cli, "credits", "grant", "--account", account, "--usd", usd, *options)
    for _ in range(100):
        if (await (await page.request.get("/api/billing/balance")).json())["balance_usd"] == balance:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the server never saw the balance reach {balance}")


async def used_once(page: Page) -> None:
    """Wait until the account's key list shows a last use (written with the usage batch, a moment later)."""
    for _ in range(100):
        keys = await (await page.request.get("/api/account/keys")).json()
        if any(key["last_used_at"] for key in keys):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no key shows a last use: {keys}")


def shown_usd(amount: str) -> str:
    """A decimal USD string as the console shows it: at least two decimals, no trailing zeros beyond."""
    sign, digits = ("-", amount[1:]) if amount.startswith("-") else ("", amount)
    whole, _, fraction = digits.partition(".")
    return f"{sign}${whole}.{fraction.rstrip('0').ljust(2, '0')}"


async def shoot(page: Page, path: Path) -> None:
    await page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 5_000
