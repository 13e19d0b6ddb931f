"""Billing end to end: the `openai` provider in front of a fake upstream, exact integer money."""

import concurrent.futures
from decimal import Decimal

import httpx
import openai
import pytest

from .harness import wait_for
from .pricing_helpers import expected_cost

MODEL = "openai/gpt-4o-mini"


def settled_balance(gateway, account, expected: Decimal) -> Decimal:
    """The CLI sees a settled request within a second; poll until it does (or give up)."""
    return wait_for(lambda: (b := gateway.balance(account)) == expected and b, timeout=3) or gateway.balance(account)


@pytest.mark.parametrize("stream", [False, True])
def test_cost_is_catalog_price_times_reported_tokens(openai_gateway, upstream, stream):
    account, key = openai_gateway.new_key(usd="2")
    upstream.plan(prompt_tokens=1234, completion_tokens=567, cached_tokens=200, reasoning_tokens=50)
    messages = [{"role": "user", "content": "price me"}]
    if stream:
        chunks = list(openai_gateway.sdk(key).chat.completions.create(model=MODEL, messages=messages, stream=True))
        usage = chunks[-1].usage
    else:
        usage = openai_gateway.sdk(key).chat.completions.create(model=MODEL, messages=messages).usage
    expected = expected_cost(MODEL, prompt=1234, completion=567, cached=200, reasoning=50)
    assert Decimal(str(usage.model_extra["cost"])) == expected
    assert usage.prompt_tokens == 1234 and usage.prompt_tokens_details.cached_tokens == 200
    assert settled_balance(openai_gateway, account, Decimal(2) - expected) == Decimal(2) - expected


def test_stream_asks_upstream_for_usage_even_when_the_client_did_not(openai_gateway, upstream):
    _, key = openai_gateway.new_key()
    chunks = list(openai_gateway.sdk(key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True))
    assert upstream.requests[-1]["stream_options"] == {"include_usage": True}
    assert upstream.requests[-1]["model"] == "gpt-4o-mini"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 28
    assert all(c.usage is None for c in chunks[:-1])
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == upstream.default.text


def test_zero_balance_is_402_and_upstream_is_not_called(openai_gateway, upstream):
    _, key = openai_gateway.new_key(usd="0")
    with pytest.raises(openai.APIStatusError) as caught:
        openai_gateway.sdk(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 402
    assert caught.value.body["code"] == "insufficient_credits"
    assert upstream.requests == []


def test_402_says_which_max_tokens_would_fit(openai_gateway, upstream):
    _, key = openai_gateway.new_key(usd="0.001")
    with pytest.raises(openai.APIStatusError) as caught:
        openai_gateway.sdk(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 402 and "set max_tokens to" in caught.value.message
    reply = openai_gateway.sdk(key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=100)
    assert reply.choices[0].message.content == upstream.default.text


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_500_charges_nothing(openai_gateway, upstream, stream):
    account, key = openai_gateway.new_key(usd="1")
    upstream.plan(status=500)
    with pytest.raises(openai.InternalServerError) as caught:
        result = openai_gateway.sdk(key).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}], stream=stream)
        list(result) if stream else None
    assert caught.value.status_code == 502
    generation = _generation(openai_gateway, key, caught.value.response.headers["x-request-id"])
    assert generation["status"] == "error" and generation["cost"] == 0
    assert openai_gateway.balance(account) == Decimal(1)


def test_mid_stream_failure_ends_the_stream_with_an_error_and_charges_nothing(openai_gateway, upstream):
    account, key = openai_gateway.new_key(usd="1")
    upstream.plan(fail_mid_stream=True)
    with pytest.raises(openai.APIError):
        list(openai_gateway.sdk(key).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))
    assert wait_for(lambda: openai_gateway.recorded_statuses(account) == ["error"])
    assert openai_gateway.balance(account) == Decimal(1)


def test_upstream_429_keeps_retry_after(openai_gateway, upstream):
    _, key = openai_gateway.new_key()
    upstream.plan(status=429, error_type="requests", error_code="rate_limit_exceeded", headers={"retry-after": "7"})
    response = httpx.post(openai_gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                          json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.json()["error"]["code"] == "upstream_rate_limited"


def test_upstream_400_comes_back_with_its_message(openai_gateway, upstream):
    _, key = openai_gateway.new_key()
    upstream.plan(status=400, error_type="invalid_request_error", error_code="invalid_value")
    with pytest.raises(openai.BadRequestError) as caught:
        openai_gateway.sdk(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["message"] == "fake failure 400" and caught.value.body["code"] == "invalid_value"


def test_tools_and_images_reach_the_upstream_unchanged(openai_gateway, upstream):
    _, key = openai_gateway.new_key()
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                                               "parameters": {"type": "object", "properties": {}}, "strict": True}}]
    content = [{"type": "text", "text": "what is this?"},
               {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}]
    reply = openai_gateway.sdk(key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": content}], tools=tools, tool_choice="auto")
    sent = upstream.requests[-1]
    assert sent["tools"] == tools and sent["tool_choice"] == "auto" and sent["messages"][0]["content"] == content
    assert reply.choices[0].message.tool_calls[0].function.arguments == '{"city":"Paris"}'


def test_key_limit_stops_spending(openai_gateway, upstream):
    _, key = openai_gateway.new_key(usd="1", limit_usd="0.00001")
    call = dict(model=MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=5)
    openai_gateway.sdk(key).chat.completions.create(**call)
    with pytest.raises(openai.APIStatusError) as caught:
        openai_gateway.sdk(key).chat.completions.create(**call)
    assert caught.value.status_code == 402 and caught.value.body["code"] == "key_limit_reached"
    info = httpx.get(openai_gateway.url + "/v1/key", headers={"Authorization": f"Bearer {key}"}).json()["data"]
    assert Decimal(info["usage_usd"]) == expected_cost(MODEL, prompt=21, completion=7)
    assert info["limit_usd"] == "0.000010"


def test_a_grant_from_the_cli_takes_effect_on_the_running_server(openai_gateway, upstream):
    account, key = openai_gateway.new_key(usd="0")
    call = dict(model=MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=10)
    with pytest.raises(openai.APIStatusError):
        openai_gateway.sdk(key).chat.completions.create(**call)
    openai_gateway.cli("credits", "grant", "--account", account, "--usd", "1")
    assert wait_for(lambda: _succeeds(openai_gateway, key, call), timeout=1.0)


def test_a_revoked_key_stops_working_within_a_second(openai_gateway, upstream):
    account, key = openai_gateway.new_key()
    key_id = httpx.get(openai_gateway.url + "/v1/key", headers={"Authorization": f"Bearer {key}"}).json()["data"]["id"]
    call = dict(model=MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=10)
    assert _succeeds(openai_gateway, key, call)
    openai_gateway.cli("keys", "revoke", key_id)
    assert wait_for(lambda: not _succeeds(openai_gateway, key, call), timeout=1.0)
    with pytest.raises(openai.AuthenticationError) as caught:
        openai_gateway.sdk(key).chat.completions.create(**call)
    assert "revoked" in caught.value.message


def test_concurrent_requests_never_spend_more_than_the_balance(openai_gateway, upstream):
    account, key = openai_gateway.new_key(usd="0.0001")
    # Each request reserves at most ~7.2e-6 USD (40 tokens out, a short prompt) and costs 6.3e-6.
    call = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 10}
    upstream.default.delay = 0.05
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
            statuses = list(pool.map(lambda _: _post(openai_gateway, key, call).status_code, range(40)))
    finally:
        upstream.default.delay = 0.0
    served = statuses.count(200)
    assert set(statuses) <= {200, 402} and 0 < served < 40
    cost = expected_cost(MODEL, prompt=21, completion=7)
    assert served * cost <= Decimal("0.0001")
    left = Decimal("0.0001") - served * cost
    assert settled_balance(openai_gateway, account, left) == left


def _post(gateway, key, body):
    return httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body,
                      timeout=30)


def _succeeds(gateway, key, body) -> bool:
    return _post(gateway, key, body).status_code == 200


def _generation(gateway, key, request_id):
    return wait_for(lambda: httpx.get(gateway.url + "/v1/generation", params={"id": request_id},
                                      headers={"Authorization": f"Bearer {key}"}).json().get("data"))


def test_the_suggested_max_tokens_is_accepted(tmp_path, fake_openai):
    from .conftest import openai_config
    from .harness import Gateway

    config = openai_config(fake_openai, models=[{"id": "acme/reasoner", "routes": [{
        "provider": "openai", "model": "o-fake",
        "pricing": {"prompt": "0.000001", "completion": "0.000002", "internal_reasoning": "0.00001"}}]}])
    gateway = Gateway(tmp_path, config).start()
    try:
        _, key = gateway.new_key(usd="0.01")
        body = {"model": "acme/reasoner", "messages": [{"role": "user", "content": "x"}], "max_tokens": 100_000}
        refused = _post(gateway, key, body)
        assert refused.status_code == 402
        message = refused.json()["error"]["message"]
        assert "100000 output tokens" in message  # the request's own limit is reserved, not a default
        suggested = int(message.split("set max_tokens to ")[1].split(" ")[0])
        assert _post(gateway, key, {**body, "max_tokens": suggested}).status_code == 200
        assert _post(gateway, key, {**body, "max_tokens": suggested + 1}).status_code == 402
    finally:
        gateway.stop()


def test_embedding_models_do_not_serve_chat(openai_gateway, upstream):
    _, key = openai_gateway.new_key()
    response = _post(openai_gateway, key, {"model": "openai/text-embedding-3-small",
                                           "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 400 and response.json()["error"]["code"] == "wrong_model_kind"
    assert upstream.requests == []


def test_the_price_shown_with_a_markup_is_the_price_charged(tmp_path, fake_openai):
    from .conftest import openai_config
    from .harness import Gateway

    fake_openai.reset()
    gateway = Gateway(tmp_path, openai_config(fake_openai, markup={"percent": "10"})).start()
    try:
        _, key = gateway.new_key()
        shown = next(m for m in httpx.get(gateway.url + "/v1/models").json()["data"] if m["id"] == MODEL)["pricing"]
        reply = gateway.sdk(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
        expected = 21 * Decimal(shown["prompt"]) + 7 * Decimal(shown["completion"])
        assert Decimal(shown["prompt"]) == Decimal("0.000000165")  # 0.15 USD per million + 10%
        assert Decimal(str(reply.usage.model_extra["cost"])) == expected
    finally:
        gateway.stop()


def test_five_hundred_concurrent_requests_never_overspend(openai_gateway, upstream):
    import asyncio

    # The upstream reports usage within the request's bounds (a real one would: the hold's prompt
    # bound is the UTF-8 size plus overhead, more than any tokenizer counts), so no overdraft applies.
    upstream.default.prompt_tokens = 5
    cost = expected_cost(MODEL, prompt=5, completion=7)
    grant = 20 * cost  # covers 20 requests at their actual cost
    account, key = openai_gateway.new_key(usd=str(grant))
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 7}

    async def storm() -> list[int]:
        limits = httpx.Limits(max_connections=500)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            responses = await asyncio.gather(*(client.post(
                openai_gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body)
                for _ in range(500)))
        return [r.status_code for r in responses]

    try:
        statuses = asyncio.run(storm())
    finally:
        upstream.default.prompt_tokens = 21
    served = statuses.count(200)
    assert set(statuses) <= {200, 402} and 0 < served <= 20
    left = grant - served * cost
    assert settled_balance(openai_gateway, account, left) == left
    assert Decimal(openai_gateway.cli("credits", "balance", "--account", account)["balance_usd"]) >= 0


def test_a_credit_line_lets_a_postpaid_account_spend_below_zero_up_to_its_limit(openai_gateway, upstream):
    account, key = openai_gateway.new_key(usd="0")
    call = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 10}
    assert _post(openai_gateway, key, call).status_code == 402
    openai_gateway.cli("credits", "line", "--account", account, "--usd", "0.00001")
    assert wait_for(lambda: _post(openai_gateway, key, call).status_code == 200, timeout=1.5)
    assert _post(openai_gateway, key, call).status_code == 402     # one more would pass the line
    owed = -expected_cost(MODEL, prompt=21, completion=7)
    assert settled_balance(openai_gateway, account, owed) == owed
    credits = httpx.get(openai_gateway.url + "/v1/credits", headers={"Authorization": f"Bearer {key}"}).json()
    assert credits["data"]["credit_line_usd"] == "0.000010" and Decimal(credits["data"]["balance_usd"]) == owed
