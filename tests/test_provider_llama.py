"""The `llama` provider (Meta's Llama API, OpenAI-compatible endpoint): translators unit-tested without a
network, then end to end through the gateway against the fake Llama API (tests/fakes/llama_upstream.py).

No Llama API price could be confirmed (catalog/data/llama.yaml), so the gateway here prices the model in
its config, as an operator would, and the expected costs come from that route price."""

import json
from decimal import Decimal

import httpx
import openai
import pytest

from alltoken.config import ProviderConfig
from alltoken.providers.openai.llama import (
    LlamaProvider,
    LlamaStream,
    from_llama_response,
    problem_detail,
    to_llama_request,
    usage_from_metrics,
)
from alltoken.providers.transport import Transport

from .fakes.llama_upstream import API_KEY, FakeLlama
from .harness import Gateway

MODEL = "meta-llama/llama-4-maverick"
UPSTREAM_MODEL = "Llama-4-Maverick-17B-128E-Instruct-FP8"
TEST_PRICE = {"prompt": "0.00000019", "completion": "0.00000085"}   # a test's route price, not Meta's
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def cost(prompt: int, completion: int) -> Decimal:
    return prompt * Decimal(TEST_PRICE["prompt"]) + completion * Decimal(TEST_PRICE["completion"])


# ---------------------------------------------------------------------------------------------- unit tests

def test_json_mode_asks_for_any_json_object_and_other_formats_pass():
    body = {"model": "m", "messages": [], "response_format": {"type": "json_object"}}
    assert to_llama_request(body)["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "json_object", "schema": {"type": "object"}}}
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    assert to_llama_request({"response_format": schema})["response_format"] == schema


def test_request_keeps_openai_fields_and_asks_for_usage_on_streams():
    provider = LlamaProvider(ProviderConfig(id="llama", type="llama", api_key="k"), Transport())
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 9}
    assert provider._upstream_body(body, stream=True) == {**body, "stream": True,
                                                          "stream_options": {"include_usage": True}}
    assert provider._chat_url == "https://api.llama.com/compat/v1/chat/completions"


def test_tool_calls_get_their_type_and_metrics_become_usage():
    data = from_llama_response({"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}]}}],
        "metrics": [{"metric": "num_completion_tokens", "value": 3, "unit": "tokens"},
                    {"metric": "num_prompt_tokens", "value": 20, "unit": "tokens"},
                    {"metric": "num_total_tokens", "value": 23, "unit": "tokens"}]})
    assert data["choices"][0]["message"]["tool_calls"][0]["type"] == "function"
    assert data["usage"] == {"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23}
    assert usage_from_metrics([{"metric": "latency", "value": 5}]) is None


def test_stream_usage_on_a_content_chunk_moves_to_a_final_chunk():
    stream = LlamaStream()
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    base = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    first = stream.translate({**base, "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]})
    last = stream.translate({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                             "usage": usage})
    assert first["choices"][0]["delta"] == {"content": "Hi"} and "usage" not in last
    assert stream.finish() == [{**base, "choices": [], "usage": usage}]


def test_stream_usage_chunk_and_tool_call_first_deltas():
    stream = LlamaStream()
    chunk = stream.translate({"id": "x", "choices": [{"index": 0, "finish_reason": None, "delta": {"tool_calls": [
        {"index": 0, "id": "c1", "function": {"name": "f", "arguments": ""}}]}}]})
    assert chunk["choices"][0]["delta"]["tool_calls"][0]["type"] == "function"
    assert stream.translate({"id": "x", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1}}) is None
    assert stream.finish()[0]["usage"] == {"prompt_tokens": 1, "completion_tokens": 1}


def test_problem_bodies_give_their_detail():
    assert problem_detail(b'{"title": "Bad Request", "detail": "bad format", "status": 400}') == {
        "message": "bad format"}
    assert problem_detail(b'{"error": {"message": "x"}}') == {} and problem_detail(b"nope") == {}


# -------------------------------------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def fake_llama():
    fake = FakeLlama().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_llama):
    config = {"providers": [{"id": "llama", "type": "llama", "api_key": API_KEY, "base_url": fake_llama.base_url}],
              "models": [{"id": MODEL, "routes": [{"provider": "llama", "model": UPSTREAM_MODEL,
                                                   "pricing": TEST_PRICE}]}]}
    gateway = Gateway(tmp_path_factory.mktemp("llama"), config).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def upstream(fake_llama):
    fake_llama.reset()
    return fake_llama


@pytest.fixture(scope="module")
def client(gateway):
    _, key = gateway.new_key(usd="100")
    return gateway.sdk(key)


def test_completion_and_its_exact_cost(client, upstream):
    upstream.plan(prompt_tokens=1500, completion_tokens=321)
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}])
    reply = raw.parse()
    assert raw.headers["x-alltoken-provider"] == "llama"
    assert reply.choices[0].message.content == "Hello from the fake Llama." and reply.model == MODEL
    assert upstream.requests[-1]["model"] == UPSTREAM_MODEL
    assert upstream.requests[-1]["messages"][0] == {"role": "system", "content": "Be kind."}
    assert upstream.headers[-1]["Authorization"] == f"Bearer {API_KEY}"
    assert Decimal(str(reply.usage.model_extra["cost"])) == cost(1500, 321)


def test_usage_reported_as_native_metrics_is_billed(client, upstream):
    upstream.plan(prompt_tokens=70, completion_tokens=30, usage_as_metrics=True)
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert reply.usage.prompt_tokens == 70 and Decimal(str(reply.usage.model_extra["cost"])) == cost(70, 30)


def test_stream_sends_the_accept_header_and_ends_with_usage(client, upstream):
    upstream.plan(prompt_tokens=12, completion_tokens=6)
    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}],
                                                 stream=True))
    assert "text/event-stream" in upstream.headers[-1]["Accept"]
    assert upstream.requests[-1]["stream_options"] == {"include_usage": True}
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from the fake Llama."
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 18
    assert Decimal(str(chunks[-1].usage.model_extra["cost"])) == cost(12, 6)


def test_a_redirected_stream_is_followed(client, upstream):
    upstream.plan(redirect=True)
    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}],
                                                 stream=True))
    assert upstream.redirects == 1 and upstream.requests[-1]["stream"] is True
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from the fake Llama."


def test_json_mode_reaches_llama_as_json_schema(client, upstream):
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "JSON please"}],
                                   response_format={"type": "json_object"})
    assert upstream.requests[-1]["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_round_trip(client, upstream, stream):
    upstream.plan(tool_calls=[("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})])
    messages = [{"role": "user", "content": "Weather in Paris and Rome?"}]
    result = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL], stream=stream)
    if stream:
        calls: dict[int, dict] = {}
        for chunk in result:
            for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                call = calls.setdefault(delta.index, {"id": delta.id, "type": delta.type, "arguments": ""})
                call["arguments"] += delta.function.arguments or ""
        tool_calls = [{"id": c["id"], "type": c["type"],
                       "function": {"name": "get_weather", "arguments": c["arguments"]}}
                      for _, c in sorted(calls.items())]
    else:
        assert result.choices[0].finish_reason == "tool_calls"
        tool_calls = [call.model_dump() for call in result.choices[0].message.tool_calls]
    assert [c["type"] for c in tool_calls] == ["function", "function"]
    assert [json.loads(c["function"]["arguments"]) for c in tool_calls] == [{"city": "Paris"}, {"city": "Rome"}]
    messages += [{"role": "assistant", "content": None, "tool_calls": tool_calls}] + [
        {"role": "tool", "tool_call_id": c["id"], "content": f"{city}: sunny"}
        for c, city in zip(tool_calls, ("Paris", "Rome"))]
    upstream.plan(text="Both sunny.")
    final = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].message.content == "Both sunny."
    assert [m.get("tool_call_id") for m in upstream.requests[-1]["messages"][2:]] == [c["id"] for c in tool_calls]


def test_image_input_reaches_llama_as_an_image_url_part(client, upstream):
    content = [{"type": "text", "text": "What is this?"},
               {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
               {"type": "image_url", "image_url": {"url": "https://example.com/llama.jpg"}}]
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}])
    assert upstream.requests[-1]["messages"][0]["content"] == content


def test_rate_limit_is_a_429_with_retry_after(gateway, client, upstream):
    upstream.plan(status=429, headers={"retry-after": "4"},
                  error_body={"error": {"message": "Too many requests", "type": "rate_limit_error"}})
    response = httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {client.api_key}"},
                          json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 429 and response.headers["retry-after"] == "4"
    assert response.json()["error"]["code"] == "upstream_rate_limited"


@pytest.mark.parametrize("stream", [False, True])
def test_over_capacity_is_a_retryable_503(client, upstream, stream):
    upstream.plan(status=503)
    with pytest.raises(openai.InternalServerError) as caught:
        result = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}],
                                                stream=stream)
        list(result) if stream else None
    assert caught.value.status_code == 503 and caught.value.body["code"] == "upstream_overloaded"


def test_a_client_mistake_keeps_llamas_message(client, upstream):
    upstream.plan(status=400, error_body={"title": "Bad Request", "detail": "temperature must be in [0, 1]",
                                          "status": 400})
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], temperature=1.5)
    assert caught.value.body["message"] == "temperature must be in [0, 1]"


@pytest.mark.parametrize("failure", ["fail_mid_stream", "malformed_event"])
def test_a_broken_stream_ends_with_an_error(client, upstream, failure):
    upstream.plan(**{failure: True})
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))


@pytest.mark.parametrize("headers,body", [
    ({"Authorization": f"Bearer {API_KEY}"}, {"model": "m", "messages": [], "stream": True}),
    ({"Authorization": f"Bearer {API_KEY}", "Accept": "text/event-stream"},
     {"model": "m", "messages": [], "response_format": {"type": "json_object"}}),
    ({"Authorization": "Bearer wrong"}, {"model": "m", "messages": []}),
])
def test_the_fake_refuses_what_the_llama_api_refuses(upstream, headers, body):
    response = httpx.post(upstream.base_url + "/chat/completions", json=body, headers=headers)
    assert response.status_code in (400, 401) and upstream.requests == []
