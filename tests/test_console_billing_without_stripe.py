"""The Billing page of a server without Stripe: it says, in words, that card payments are not set up, and
still redeems codes."""

import pytest
from playwright.async_api import expect

from .console_helpers import nav, new_email, sign_up


@pytest.fixture(scope="module")
def gateway(demo_gateway):
    return demo_gateway


async def test_the_billing_page_says_card_payments_are_not_set_up(open_page, gateway):
    page = await open_page()
    await sign_up(page, new_email())
    settings = await (await page.request.get("/api/billing/auto-topup")).json()
    assert settings["card_payments_enabled"] is False and settings["minimum_usd"] == "5.000000"
    await nav(page, "Billing")
    await expect(page.get_by_role("region", name="Top up by card")).to_contain_text(
        "Card payments are not set up on this server (its operator has not configured Stripe)")
    await expect(page.get_by_role("button", name="Pay by card")).to_have_count(0)
    await expect(page.get_by_role("region", name="Auto top-up")).to_contain_text(
        "card payments are not set up on this server")
    await expect(page.get_by_role("region", name="Redeem a code").get_by_label("Code")).to_be_editable()
