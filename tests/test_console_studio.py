"""The console's Studio in a real browser: the chat playground streams a reply through /v1 with the
account's own credits and shows its tokens and exact cost; the image playground passes the moderation
level through exactly as chosen (and leaves it out when the user does); the Studio key lives in the
page only and dies at sign-out. Screenshots of both playgrounds land in test-artifacts/screenshots/."""

import asyncio
import re
from datetime import UTC, datetime

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
from .harness import Gateway
from .image_helpers import mask, picture

GREETING = "Hello from the AllToken demo model."


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_openai_images):
    """The demo provider (chat streamed one token every 50 ms) and OpenAI's Images API (the fake)."""
    config = {"providers": [{"id": "demo", "type": "demo", "stream_delay_ms": 50},
                            {"id": "openai", "type": "openai", "api_key": API_KEY,
                             "base_url": fake_openai_images.base_url}]}
    gateway = Gateway(tmp_path_factory.mktemp("studio"), config,
                      env={"ALLTOKEN_ADMIN_EMAIL": ADMIN_EMAIL, "ALLTOKEN_ADMIN_PASSWORD": ADMIN_PASSWORD}).start()
    yield gateway
    gateway.stop()


async def open_studio(page: Page, gateway: Gateway, usd: str | None = "1") -> str:
    """Sign up (with `usd` of credit), open the Studio (accepting the terms if it asks): the account id."""
    await sign_up(page, new_email())
    account = (await (await page.request.get("/api/auth/me")).json())["account_id"]
    if usd:
        await grant(page, gateway, account, usd, f"{usd}.000000")
    await nav(page, "Studio")
    accept = page.get_by_role("button", name="Accept the terms and open the Studio")
    message = page.get_by_label("Message", exact=True)
    await expect(message.or_(accept)).to_be_visible()
    if await accept.is_visible():
        await accept.click()
        await confirm_password(page)
    await expect(message).to_be_visible()
    return account


async def recorded(gateway: Gateway, account: str, request_id: str) -> dict:
    """The request's usage record, read with another key of the account."""
    key = (await asyncio.to_thread(gateway.cli, "keys", "create", "--account", account))["key"]
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(f"{gateway.url}/v1/generation", params={"id": request_id},
                                  headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


STREAMING_REPLY = """() => {
  const turn = document.querySelector('.turn-assistant');
  const text = turn?.querySelector('.turn-text')?.textContent ?? '';
  const stop = [...document.querySelectorAll('button')].some((b) => b.textContent.trim() === 'Stop');
  return turn?.getAttribute('aria-busy') === 'true' && stop && text.startsWith('Hello') ? text : null;
}"""


async def test_chat_streams_a_reply_and_shows_its_tokens_and_exact_cost(open_page, gateway):
    page = await open_page()
    account = await open_studio(page, gateway)
    await page.get_by_role("tabpanel", name="Chat").get_by_label("Model", exact=True).select_option("alltoken/demo")
    await page.get_by_label("System prompt (optional)").fill("Answer in one line.")
    await page.get_by_label("Temperature").fill("0.5")
    message = "Tell me about the lighthouse at the end of the long pier"
    await page.get_by_label("Message", exact=True).fill(message)
    async with page.expect_request("**/v1/chat/completions") as sent:
        await page.get_by_role("button", name="Send").click()
    body = (await sent.value).post_data_json
    assert body == {"model": "alltoken/demo", "stream": True, "stream_options": {"include_usage": True},
                    "temperature": 0.5, "messages": [{"role": "system", "content": "Answer in one line."},
                                                     {"role": "user", "content": message}]}
    # Part of the reply shows while it streams (the Stop button is there), then the whole of it.
    partial = await (await page.wait_for_function(STREAMING_REPLY)).json_value()
    reply = page.get_by_test_id("reply")
    await expect(page.locator(".turn-assistant .turn-cost")).to_be_visible(timeout=15_000)
    final = await reply.text_content()
    assert final.startswith(partial) and len(final) > len(partial) and final.startswith(GREETING)
    assert final.endswith(message)
    request_id = (await (await sent.value).response()).headers["x-request-id"]
    record = await recorded(gateway, account, request_id)
    assert record["status"] == "ok" and record["streamed"] is True
    meta = page.locator(".turn-assistant .turn-meta")
    await expect(meta).to_contain_text(f"{record['tokens_prompt']} tokens in, {record['tokens_completion']} out")
    await expect(meta.locator(".turn-cost")).to_have_text(f"Cost {shown_usd(record['cost_usd'])}")
    await expect(meta).to_contain_text(request_id)
    await shoot(page, SCREENSHOTS / "studio-chat.png")


async def test_the_code_snippets_make_the_same_call_without_the_studio_key(open_page, gateway):
    page = await open_page()
    await open_studio(page, gateway)
    await page.get_by_role("tabpanel", name="Chat").get_by_label("Model", exact=True).select_option("alltoken/demo")
    await page.get_by_label("System prompt (optional)").fill("Be brief.")
    await page.get_by_label("Max tokens").fill("12")
    async with page.expect_request("**/v1/chat/completions") as sent:
        await page.get_by_label("Message", exact=True).fill("First, say hi")
        await page.get_by_label("Message", exact=True).press("Enter")
    studio_key = (await sent.value).headers["authorization"].removeprefix("Bearer ")
    await expect(page.locator(".turn-assistant .turn-cost")).to_be_visible(timeout=15_000)
    await page.get_by_label("Message", exact=True).fill("Then it's my turn")
    first_reply = await page.get_by_test_id("reply").text_content()
    expected = {
        "Python": ['base_url="' + gateway.url + '/v1"', 'os.environ["ALLTOKEN_API_KEY"]', 'model="alltoken/demo"',
                   '{"role":"system","content":"Be brief."}', '{"role":"user","content":"First, say hi"}',
                   f'{{"role":"assistant","content":"{first_reply}"}}',
                   '{"role":"user","content":"Then it\'s my turn"}',
                   "max_tokens=12,", "stream=True"],
        "JavaScript": ["baseURL: \"" + gateway.url + "/v1\"", "process.env.ALLTOKEN_API_KEY", 'model: "alltoken/demo"',
                       '{ role: "system", content: "Be brief." }', '{ role: "user", content: "Then it\'s my turn" }',
                       "max_tokens: 12,"],
        "curl": [gateway.url + "/v1/chat/completions", "Bearer $ALLTOKEN_API_KEY", '"model": "alltoken/demo"',
                 '"content": "Be brief."', '"content": "Then it\'\\\'\'s my turn"', '"max_tokens": 12'],
    }
    for language, parts in expected.items():
        await page.get_by_role("tab", name=language, exact=True).click()
        code = await page.get_by_role("tabpanel", name=language).locator("code").text_content()
        for part in parts:
            assert part in code, (language, part, code)
        assert studio_key not in code and "atk_" not in code


async def test_stop_ends_the_stream_and_signing_out_kills_the_studio_key(open_page, gateway):
    page = await open_page()
    await open_studio(page, gateway)
    await page.get_by_role("tabpanel", name="Chat").get_by_label("Model", exact=True).select_option("alltoken/demo")
    await page.get_by_label("Message", exact=True).fill(" ".join(["word"] * 60))
    async with page.expect_request("**/v1/chat/completions") as sent:
        await page.get_by_role("button", name="Send").click()
    studio_key = (await sent.value).headers["authorization"].removeprefix("Bearer ")
    await page.wait_for_function(STREAMING_REPLY)
    await page.get_by_role("button", name="Stop").click()
    await expect(page.locator(".turn-assistant .turn-meta")).to_contain_text("Stopped.")
    assert not (await page.get_by_test_id("reply").text_content()).endswith("word")
    await expect(page.get_by_role("button", name="Send")).to_be_visible()
    stored = await page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}, document.cookie])")
    assert studio_key not in stored
    chat = {"model": "alltoken/demo", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
    headers = {"Authorization": f"Bearer {studio_key}"}
    async with httpx.AsyncClient(base_url=gateway.url, headers=headers, timeout=10) as client:
        assert (await client.post("/v1/chat/completions", json=chat)).status_code == 200
        await page.get_by_role("button", name="Sign out").click()
        await expect(page).to_have_url("/sign-in")
        refused = await client.post("/v1/chat/completions", json=chat)
        assert refused.status_code == 401, refused.text


async def test_without_credit_the_refusal_is_shown_in_words(open_page, gateway):
    page = await open_page()
    await open_studio(page, gateway, usd=None)
    await page.get_by_role("tabpanel", name="Chat").get_by_label("Model", exact=True).select_option("alltoken/demo")
    await page.get_by_label("Message", exact=True).fill("Hi")
    await page.get_by_role("button", name="Send").click()
    alert = page.locator(".turn-assistant").get_by_role("alert")
    await expect(alert).to_contain_text("Insufficient credits")
    await expect(alert.get_by_role("link", name="Go to Billing")).to_have_attribute("href", "/billing")


async def image_panel(page: Page):
    await page.get_by_role("tab", name="Images").click()
    return page.get_by_role("tabpanel", name="Images")


async def moderation_log(gateway: Gateway, account: str) -> list[dict]:
    """The account's records in the moderation log, as an administrator lists them."""
    admin_key = await asyncio.to_thread(gateway.admin_key)
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(gateway.url + "/api/admin/moderation-log", params={"account_id": account},
                                  headers={"Authorization": f"Bearer {admin_key}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


async def test_image_generation_passes_the_moderation_level_exactly_as_chosen(open_page, gateway, fake_openai_images):
    fake_openai_images.reset()
    page = await open_page()
    account = await open_studio(page, gateway)
    panel = await image_panel(page)
    await panel.get_by_label("Model", exact=True).select_option("openai/gpt-image-1")
    await panel.get_by_label("Prompt", exact=True).fill("a lighthouse at dusk")
    await panel.get_by_label("Size").select_option("1024x1024")
    await panel.get_by_label("Quality").select_option("low")
    await panel.get_by_text("Advanced settings").click()
    await panel.get_by_label("Moderation").select_option("low")
    async with page.expect_response("**/v1/images/generations") as answered:
        await panel.get_by_role("button", name="Generate").click()
    low_id = (await answered.value).headers["x-request-id"]
    await expect(panel.get_by_role("img", name="Image 1 of 1: a lighthouse at dusk")).to_be_visible()
    record = await recorded(gateway, account, low_id)
    await expect(panel.locator(".turn-cost")).to_have_text(f"Cost {shown_usd(record['cost_usd'])}")
    await expect(panel.locator(".turn-meta")).to_contain_text(low_id)
    sent = fake_openai_images.received[-1]
    assert sent.endpoint == "generations" and b'"moderation":"low"' in sent.raw
    assert sent.json == {"model": "gpt-image-1", "n": 1, "prompt": "a lighthouse at dusk", "size": "1024x1024",
                         "quality": "low", "moderation": "low"}
    await shoot(page, SCREENSHOTS / "studio-images.png")

    # "Provider default": no moderation field at all, upstream and in the request.
    await panel.get_by_label("Moderation").select_option(label="Provider default (not sent)")
    async with page.expect_response("**/v1/images/generations") as answered:
        await panel.get_by_role("button", name="Generate").click()
    default_id = (await answered.value).headers["x-request-id"]
    assert "moderation" not in (await answered.value).request.post_data_json
    await expect(panel.locator(".turn-meta")).to_contain_text(default_id)
    assert fake_openai_images.received[-1].endpoint == "generations"
    assert "moderation" not in fake_openai_images.received[-1].json

    log = await moderation_log(gateway, account)
    assert [(e["task_id"], e["moderation"], e["model"]) for e in log] == [
        (low_id, "low", "openai/gpt-image-1"), (default_id, None, "openai/gpt-image-1")]


async def test_edits_need_the_upload_warranty_which_the_page_offers(open_page, gateway, fake_openai_images):
    fake_openai_images.reset()
    page = await open_page()
    account = await open_studio(page, gateway)
    panel = await image_panel(page)
    await panel.get_by_label("Edit Change").check()
    await expect(panel.get_by_role("heading", name="Before you upload images")).to_be_visible()
    await expect(panel.get_by_role("button", name="Edit", exact=True)).to_be_disabled()
    await expect(panel.get_by_label("Moderation")).to_be_disabled()
    await shoot(page, SCREENSHOTS / "studio-images-warranty.png")
    await panel.get_by_role("button", name="I give this warranty").click()
    await confirm_password(page)                # the owner gives it, from the session, password confirmed
    await expect(panel.get_by_text("Your account gave the image-upload warranty")).to_be_visible()
    await panel.get_by_label("Model", exact=True).select_option("openai/gpt-image-1")
    await panel.get_by_label("Prompt", exact=True).fill("add a rainbow")
    await panel.get_by_label("Images", exact=True).set_input_files([{"name": "sea.png", "mimeType": "image/png",
                                                         "buffer": picture()}])
    await panel.get_by_label("Mask (optional)").set_input_files([{"name": "mask.png", "mimeType": "image/png",
                                                                  "buffer": mask()}])
    async with page.expect_response("**/v1/images/edits") as answered:
        await panel.get_by_role("button", name="Edit", exact=True).click()
    request_id = (await answered.value).headers["x-request-id"]
    await expect(panel.get_by_role("img", name="Image 1 of 1: add a rainbow")).to_be_visible()
    record = await recorded(gateway, account, request_id)
    await expect(panel.locator(".turn-cost")).to_have_text(f"Cost {shown_usd(record['cost_usd'])}")
    sent = fake_openai_images.received[-1]
    assert sent.endpoint == "edits" and [f.name for f in sent.files] == ["image", "mask"]
    assert sent.files[0].data == picture() and "moderation" not in dict(sent.fields)

    # A variation of the demo model's: one image, no prompt.
    await panel.get_by_label("Variation Variations").check()
    await panel.get_by_label("Model", exact=True).select_option("alltoken/demo-image")
    await panel.get_by_label("Image", exact=True).set_input_files([{"name": "sea.png", "mimeType": "image/png",
                                                                    "buffer": picture()}])
    async with page.expect_response("**/v1/images/variations") as answered:
        await panel.get_by_role("button", name="Variation", exact=True).click()
    assert (await answered.value).ok
    await expect(panel.get_by_role("img", name="Image 1 of 1: variation")).to_be_visible()
    await expect(panel.locator(".turn-meta")).to_contain_text((await answered.value).headers["x-request-id"])


async def test_the_studio_asks_for_the_terms_in_words_and_accepts_them(open_page, gateway):
    page = await open_page()
    await sign_up(page, new_email())
    version = f"studio-{datetime.now(UTC):%H%M%S%f}"
    await asyncio.to_thread(gateway.cli, "terms", "publish", "--version", version, "--effective",
                            datetime.now(UTC).isoformat())
    await nav(page, "Studio")
    await expect(page.get_by_role("heading", name="Accept the terms of service first")).to_be_visible()
    await expect(page.get_by_text(re.compile(f"has not accepted version {version}"))).to_be_visible()
    await expect(page.get_by_label("Message", exact=True)).to_have_count(0)
    async with page.expect_request("**/api/studio/key") as sent:
        await page.get_by_role("button", name="Accept the terms and open the Studio").click()
    await confirm_password(page)
    assert (await sent.value).post_data_json == {"accept_terms": True}
    await expect(page.get_by_label("Message", exact=True)).to_be_visible()
    keys = await (await page.request.get("/api/account/keys")).json()
    assert [key["name"] for key in keys if not key["revoked_at"]] == ["Studio (console)"]
