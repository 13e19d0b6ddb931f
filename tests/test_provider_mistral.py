"""The `mistral` provider: translators unit-tested without a network, then end to end through the gateway
(tests/harness.py) against the fake Mistral (tests/fakes/mistral_upstream.py) with the official `openai` SDK."""

import json
import re
from decimal import Decimal

import httpx
import openai
import pytest

from alltoken.errors import UpstreamError
from alltoken.providers.openai.mistral import (
    MistralStream,
    from_mistral_response,
    mistral_error_detail,
    mistral_tool_call_id,
    to_mistral_messages,
    to_mistral_request,
)

from .fakes.mistral_upstream import API_KEY, FakeMistral
from .harness import Gateway, wait_for
from .pricing_helpers import catalog_prices, expected_cost

MODEL = "mistralai/mistral-small-latest"
MISTRAL_ID = re.compile(r"[A-Za-z0-9]{9}")
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather now", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


# ------------------------------------------------------------------------------------------ request unit tests

def test_request_keeps_only_mistral_fields_and_renames_openai_ones():
    body = {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 10, "max_completion_tokens": 50, "seed": 7, "temperature": 0.3, "top_p": 0.9,
            "stop": ["END"], "response_format": {"type": "json_object"}, "stream_options": {"include_usage": True},
            "logit_bias": {"1": 2}, "logprobs": True, "top_logprobs": 2, "user": "u-1", "service_tier": "auto",
            "store": True, "metadata": {"a": "b"}, "parallel_tool_calls": False}
    request = to_mistral_request(body, stream=True)
    assert request == {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}],
                       "max_tokens": 50, "random_seed": 7, "temperature": 0.3, "top_p": 0.9, "stop": ["END"],
                       "response_format": {"type": "json_object"}, "metadata": {"a": "b"},
                       "parallel_tool_calls": False, "stream": True}


def test_json_schema_response_format_passes_unchanged():
    schema = {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True}}
    request = to_mistral_request({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                  "response_format": schema}, stream=False)
    assert request["response_format"] == schema and request["stream"] is False


@pytest.mark.parametrize("choice,expected", [
    ("required", "any"), ("auto", "auto"), ("none", "none"),
    ({"type": "function", "function": {"name": "get_weather"}},
     {"type": "function", "function": {"name": "get_weather"}}),
])
def test_tool_choice(choice, expected):
    request = to_mistral_request({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                  "tools": [WEATHER_TOOL], "tool_choice": choice}, stream=False)
    assert request["tool_choice"] == expected


def test_allowed_tools_choice_keeps_only_those_tools():
    other = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
    request = to_mistral_request({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                  "tools": [WEATHER_TOOL, other],
                                  "tool_choice": {"type": "allowed_tools", "allowed_tools": {
                                      "mode": "required", "tools": [{"type": "function",
                                                                     "function": {"name": "get_time"}}]}}},
                                 stream=False)
    assert request["tools"] == [other] and request["tool_choice"] == "any"


def test_tools_without_parameters_get_an_empty_object_schema():
    request = to_mistral_request({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                  "tools": [{"type": "function", "function": {"name": "ping"}}]}, stream=False)
    assert request["tools"] == [{"type": "function", "function": {
        "name": "ping", "parameters": {"type": "object", "properties": {}}}}]


@pytest.mark.parametrize("effort,expected", [("minimal", "none"), ("none", "none"), ("low", "high"),
                                             ("medium", "high"), ("high", "high")])
def test_reasoning_effort_becomes_one_of_mistrals_two_values(effort, expected):
    request = to_mistral_request({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                  "reasoning_effort": effort}, stream=False)
    assert request["reasoning_effort"] == expected


def test_system_and_developer_messages_become_one_leading_system_message_in_order():
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
                {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
                {"role": "system", "content": ""}, {"role": "user", "content": "again"}]
    assert to_mistral_messages(messages) == [
        {"role": "system", "content": "Be brief.\n\nAnswer in French."},
        {"role": "user", "content": "hi"}, {"role": "user", "content": "again"}]


def test_openai_only_message_fields_are_dropped_and_content_parts_cleaned():
    messages = [{"role": "user", "name": "ann", "content": [
                    {"type": "text", "text": "what is this?", "cache_control": {"type": "ephemeral"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}}]},
                {"role": "assistant", "content": "A cat.", "refusal": None, "annotations": [],
                 "reasoning_content": "It has whiskers."},
                {"role": "user", "content": "thanks"}]
    assert to_mistral_messages(messages) == [
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                     {"type": "image_url", "image_url": {"url": "https://example.com/cat.png",
                                                                         "detail": "low"}}]},
        {"role": "assistant", "content": "A cat."}, {"role": "user", "content": "thanks"}]


def test_a_conversation_ending_on_the_assistant_is_continued_as_a_prefix():
    converted = to_mistral_messages([{"role": "user", "content": "Count to 3"}, {"role": "assistant", "content": "1,"}])
    assert converted[-1] == {"role": "assistant", "content": "1,", "prefix": True}


def test_empty_and_unicode_content_pass_unchanged():
    messages = [{"role": "user", "content": ""}, {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "日本語 🙂 ça va ?"}]
    assert to_mistral_messages(messages)[::2] == [{"role": "user", "content": ""},
                                                 {"role": "user", "content": "日本語 🙂 ça va ?"}]


def _turn(call_ids: list[str | None]) -> list[dict]:
    calls = [{"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
             | ({"id": call_id} if call_id is not None else {}) for call_id in call_ids]
    return [{"role": "user", "content": "weather?"}, {"role": "assistant", "content": None, "tool_calls": calls}]


def test_tool_call_ids_are_rewritten_the_same_way_in_calls_and_results():
    messages = _turn(["call_PTLP8xhuABCDEFGHIJKLMNOP", "toolu_01Ab-ü"]) + [
        {"role": "tool", "tool_call_id": "toolu_01Ab-ü", "content": "rain"},
        {"role": "tool", "tool_call_id": "call_PTLP8xhuABCDEFGHIJKLMNOP", "content": "sun"}]
    converted = to_mistral_messages(messages)
    call_ids = [call["id"] for call in converted[1]["tool_calls"]]
    assert all(MISTRAL_ID.fullmatch(i) for i in call_ids) and len(set(call_ids)) == 2
    assert [m["tool_call_id"] for m in converted[2:]] == [call_ids[1], call_ids[0]]
    assert converted[1]["tool_calls"][0] == {"id": call_ids[0], "type": "function",
                                             "function": {"name": "get_weather", "arguments": "{}"}}
    assert to_mistral_messages(messages + [{"role": "user", "content": "and tomorrow?"}])[1] == converted[1]


def test_valid_mistral_ids_are_kept_and_rewrites_are_deterministic():
    assert mistral_tool_call_id("aB3dE5gH7") == "aB3dE5gH7"
    assert mistral_tool_call_id("call_abc") == mistral_tool_call_id("call_abc") != mistral_tool_call_id("call_abd")
    assert MISTRAL_ID.fullmatch(mistral_tool_call_id(""))


def test_calls_without_ids_get_stable_ones_and_results_pair_with_them_in_order():
    messages = _turn([None, None]) + [{"role": "tool", "tool_call_id": "", "content": "rain"},
                                      {"role": "tool", "tool_call_id": "whatever", "content": "sun"}]
    converted = to_mistral_messages(messages)
    call_ids = [call["id"] for call in converted[1]["tool_calls"]]
    assert len(set(call_ids)) == 2 and [m["tool_call_id"] for m in converted[2:]] == call_ids
    longer = to_mistral_messages(messages + [{"role": "assistant", "content": "Rain, then sun."},
                                             {"role": "user", "content": "thanks"}])
    assert [call["id"] for call in longer[1]["tool_calls"]] == call_ids


def test_tool_results_with_images_keep_their_image_chunks():
    messages = _turn(["call_1"]) + [{"role": "tool", "tool_call_id": "call_1", "content": [
        {"type": "text", "text": "radar:"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]
    assert to_mistral_messages(messages)[2]["content"] == [
        {"type": "text", "text": "radar:"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]


# ----------------------------------------------------------------------------------------- response unit tests

def test_response_thinking_chunks_become_reasoning_content_and_arguments_text():
    message = {
        "role": "assistant", "prefix": False,
        "content": [{"type": "thinking", "thinking": [{"type": "text", "text": "Paris is a city."}]},
                    {"type": "text", "text": "Checking."}],
        "tool_calls": [{"id": "aaaaaaaa1", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                       {"id": "null", "function": {"name": "get_time", "arguments": "{}"}, "index": 1}]}
    data = {"id": "abc", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": message}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
    message = from_mistral_response("mistral", data)["choices"][0]["message"]
    assert message["content"] == "Checking." and message["reasoning_content"] == "Paris is a city."
    assert message["tool_calls"][0] == {"id": "aaaaaaaa1", "type": "function",
                                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    assert MISTRAL_ID.fullmatch(message["tool_calls"][1]["id"])


def test_model_length_is_length_and_cached_tokens_land_where_openai_clients_look():
    data = from_mistral_response("mistral", {"choices": [{"index": 0, "finish_reason": "model_length", "message": {
        "role": "assistant", "content": "trunc"}}], "usage": {"prompt_tokens": 100, "completion_tokens": 3,
                                                               "total_tokens": 103, "num_cached_tokens": 64}})
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["prompt_tokens_details"] == {"cached_tokens": 64}


def test_finish_reason_error_is_a_provider_error():
    with pytest.raises(UpstreamError) as caught:
        from_mistral_response("mistral", {"choices": [{"index": 0, "finish_reason": "error", "message": {}}]})
    assert caught.value.status == 502 and caught.value.retryable


def _stream_chunk(delta: dict, finish: str | None = None, **extra) -> dict:
    return {"id": "s1", "object": "chat.completion.chunk", "created": 1, "model": "mistral-small-latest",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}


def _translate(chunks: list[dict]) -> list[dict]:
    stream = MistralStream("mistral")
    return [ours for chunk in chunks for ours in stream.translate(chunk)] + stream.finish()


def test_stream_reasoning_then_text_and_usage_in_a_final_chunk_of_its_own():
    usage = {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    out = _translate([
        _stream_chunk({"role": "assistant", "content": ""}),
        _stream_chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "Hmm"}]}]}),
        _stream_chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "."}], "closed": True},
                                   {"type": "text", "text": "Hi"}]}),
        _stream_chunk({"content": " there"}, "stop", usage=usage)])
    deltas = [c["choices"][0]["delta"] for c in out[:-1]]
    assert deltas == [{"role": "assistant", "content": ""}, {"reasoning_content": "Hmm"},
                      {"reasoning_content": ".", "content": "Hi"}, {"content": " there"}, {}]
    assert out[-2]["choices"][0]["finish_reason"] == "stop" and "usage" not in out[-2]
    assert out[-1] == {"id": "s1", "object": "chat.completion.chunk", "created": 1, "model": "mistral-small-latest",
                       "choices": [], "usage": usage}


def test_stream_whole_tool_calls_with_index_zero_become_openai_style_deltas():
    out = _translate([
        _stream_chunk({"role": "assistant", "content": ""}),
        _stream_chunk({"tool_calls": [{"id": "aaaaaaaa1", "index": 0,
                                       "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]}),
        _stream_chunk({"tool_calls": [{"id": "bbbbbbbb2", "index": 0,
                                       "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]}),
        _stream_chunk({"content": ""}, "tool_calls")])
    calls = [c["choices"][0]["delta"]["tool_calls"][0] for c in out if "tool_calls" in c["choices"][0]["delta"]]
    assert calls == [
        {"index": 0, "id": "aaaaaaaa1", "type": "function", "function": {"name": "get_weather", "arguments": ""}},
        {"index": 0, "function": {"arguments": '{"city":"Paris"}'}},
        {"index": 1, "id": "bbbbbbbb2", "type": "function", "function": {"name": "get_weather", "arguments": ""}},
        {"index": 1, "function": {"arguments": '{"city":"Oslo"}'}}]
    assert out[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_incremental_tool_call_fragments_continue_their_call():
    out = _translate([
        _stream_chunk({"tool_calls": [{"id": "ccccccccc", "index": 0, "function": {"name": "f", "arguments": ""}}]}),
        _stream_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
        _stream_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}, "tool_calls")])
    calls = [c["choices"][0]["delta"]["tool_calls"][0] for c in out if "tool_calls" in c["choices"][0]["delta"]]
    assert [c["index"] for c in calls] == [0, 0, 0] and "id" not in calls[1]
    assert "".join(c["function"]["arguments"] for c in calls) == '{"a":1}'


def test_stream_error_object_and_error_finish_raise():
    with pytest.raises(UpstreamError):
        _translate([_stream_chunk({"content": "a"}), {"object": "error", "message": "boom", "type": "x"}])
    with pytest.raises(UpstreamError):
        _translate([_stream_chunk({"content": "a"}, "error")])


def test_very_long_stream_keeps_every_piece():
    pieces = [f"w{n} " for n in range(5000)]
    out = _translate([_stream_chunk({"content": p}) for p in pieces] + [_stream_chunk({"content": ""}, "stop")])
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in out) == "".join(pieces)


# -------------------------------------------------------------------------------------------- error unit tests

def test_validation_errors_are_flattened_into_a_readable_message():
    raw = json.dumps({"object": "error", "message": {"detail": [
        {"type": "extra_forbidden", "loc": ["body", "stream_options", "include_usage"],
         "msg": "Extra inputs are not permitted", "input": True}]}, "type": "invalid_request_error",
        "param": None, "code": None}).encode()
    assert mistral_error_detail(raw) == {"type": "invalid_request_error",
                                         "message": "stream_options.include_usage: Extra inputs are not permitted"}


def test_error_details_in_mistrals_other_shapes():
    assert mistral_error_detail(b'{"object":"error","message":"Tool call id was x","type":"invalid_request_error",'
                                b'"param":null,"code":3280}')["code"] == "3280"
    assert mistral_error_detail(b'{"message":"Requests rate limit exceeded"}') == {
        "message": "Requests rate limit exceeded"}
    assert mistral_error_detail(b'{"detail":[{"loc":["body","model"],"msg":"Field required","type":"missing"}]}') == {
        "message": "model: Field required"}
    assert mistral_error_detail(b"<html>bad gateway</html>") == {}


# -------------------------------------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def fake_mistral():
    fake = FakeMistral().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_mistral):
    config = {"providers": [{"id": "mistral", "type": "mistral", "api_key": API_KEY,
                             "base_url": fake_mistral.base_url}]}
    gateway = Gateway(tmp_path_factory.mktemp("mistral"), config).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def upstream(fake_mistral):
    fake_mistral.reset()
    return fake_mistral


@pytest.fixture(scope="module")
def client(gateway):
    _, key = gateway.new_key(usd="100")
    return gateway.sdk(key)


def test_completion_reaches_mistral_in_its_own_dialect_and_costs_the_catalog_price(client, upstream):
    upstream.plan(prompt_tokens=1200, completion_tokens=345, cached_tokens=1024)
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Salut"}],
        max_completion_tokens=64, seed=3, user="someone")
    reply = raw.parse()
    assert raw.headers["x-alltoken-provider"] == "mistral"
    assert reply.choices[0].message.content == "Bonjour from the fake Mistral."
    assert reply.choices[0].finish_reason == "stop" and reply.model == MODEL
    sent = upstream.requests[-1]
    assert sent["model"] == "mistral-small-latest" and sent["max_tokens"] == 64 and sent["random_seed"] == 3
    assert "user" not in sent and "stream_options" not in sent and sent["stream"] is False
    assert upstream.headers[-1]["Authorization"] == f"Bearer {API_KEY}"
    assert reply.usage.prompt_tokens_details.cached_tokens == 1024
    expected = expected_cost(MODEL, prompt=1200, completion=345, cached=1024)
    assert Decimal(str(reply.usage.model_extra["cost"])) == expected


def test_stream_ends_with_our_usage_chunk_and_mistral_gets_no_stream_options(client, upstream):
    upstream.plan(prompt_tokens=40, completion_tokens=12)
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Salut"}], stream=True,
        stream_options={"include_usage": True}))
    assert "stream_options" not in upstream.requests[-1] and upstream.requests[-1]["stream"] is True
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Bonjour from the fake Mistral."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 52
    assert all(c.usage is None for c in chunks[:-1])
    expected = expected_cost(MODEL, prompt=40, completion=12)
    assert Decimal(str(chunks[-1].usage.model_extra["cost"])) == expected


def test_stream_reasoning_arrives_as_reasoning_content(client, upstream):
    upstream.plan(thinking="Let me think about it.", text="Four.")
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "2+2?"}], stream=True, reasoning_effort="medium"))
    assert upstream.requests[-1]["reasoning_effort"] == "high"
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(d.model_extra.get("reasoning_content") or "" for d in deltas) == "Let me think about it."
    assert "".join(d.content or "" for d in deltas) == "Four."


def test_tool_call_round_trip_with_ids_from_another_provider(client, upstream):
    upstream.plan(tool_calls=[("get_weather", {"city": "Paris"})], text="")
    messages = [{"role": "user", "content": "Weather in Paris? Also use the earlier result."},
                {"role": "assistant", "content": None, "tool_calls": [{
                    "id": "call_PTLP8xhuQrXyZ0123456789", "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Lyon"}'}}]},
                {"role": "tool", "tool_call_id": "call_PTLP8xhuQrXyZ0123456789", "content": "Lyon: 18C"},
                {"role": "user", "content": "Now Paris."}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL],
                                           tool_choice="required")
    assert upstream.requests[-1]["tool_choice"] == "any"
    replayed = upstream.requests[-1]["messages"]
    assert replayed[1]["tool_calls"][0]["id"] == replayed[2]["tool_call_id"]
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "Paris: 21C, sunny"}]
    upstream.plan(text="It is 21C and sunny in Paris.")
    final = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].message.content == "It is 21C and sunny in Paris."
    sent = upstream.requests[-1]["messages"]
    assert sent[-2]["tool_calls"][0]["id"] == call.id == sent[-1]["tool_call_id"]


def test_parallel_tool_calls_stream_with_their_own_indexes(client, upstream):
    upstream.plan(tool_calls=[("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"})], text="",
                  arguments_as_object=True)
    stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Paris and Oslo?"}],
                                            tools=[WEATHER_TOOL], stream=True)
    calls: dict[int, dict] = {}
    for chunk in stream:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            call = calls.setdefault(delta.index, {"id": delta.id, "name": delta.function.name, "arguments": ""})
            call["arguments"] += delta.function.arguments or ""
    assert sorted(calls) == [0, 1] and calls[0]["id"] != calls[1]["id"]
    assert [json.loads(calls[i]["arguments"]) for i in (0, 1)] == [{"city": "Paris"}, {"city": "Oslo"}]


@pytest.mark.parametrize("url", ["data:image/png;base64,iVBORw0KGgo=", "https://example.com/cat.png"])
def test_image_input_reaches_mistral_as_an_image_url_chunk(client, upstream, url):
    content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": url}}]
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}])
    assert upstream.requests[-1]["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": url}}]


def test_rate_limit_is_a_429_with_retry_after(gateway, upstream):
    _, key = gateway.new_key()
    upstream.plan(status=429, headers={"retry-after": "9"})
    response = httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                          json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 429 and response.headers["retry-after"] == "9"
    assert response.json()["error"]["code"] == "upstream_rate_limited"


@pytest.mark.parametrize("stream", [False, True])
def test_over_capacity_is_a_retryable_503(client, upstream, stream):
    upstream.plan(status=503)
    with pytest.raises(openai.InternalServerError) as caught:
        result = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}],
                                                stream=stream)
        list(result) if stream else None
    assert caught.value.status_code == 503 and caught.value.body["code"] == "upstream_overloaded"


def test_a_validation_error_keeps_mistrals_message(client, upstream):
    upstream.plan(status=422, error_body={"object": "error", "message": {"detail": [
        {"type": "less_than_equal", "loc": ["body", "temperature"], "msg": "Input should be less than or equal to 1.5",
         "input": 2}]}, "type": "invalid_request_error", "param": None, "code": None})
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], temperature=2)
    assert caught.value.body["message"] == "temperature: Input should be less than or equal to 1.5"


def test_a_bad_upstream_key_is_a_neutral_502(client, upstream):
    upstream.plan(status=401, error_body={"message": "Unauthorized"})
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 502 and caught.value.body["code"] == "upstream_auth"


@pytest.mark.parametrize("failure", ["fail_mid_stream", "malformed_event"])
def test_a_broken_stream_ends_with_an_error_event_and_costs_nothing(gateway, upstream, failure):
    account, key = gateway.new_key(usd="1")
    upstream.plan(text="one two three", **{failure: True})
    client = gateway.sdk(key)
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))
    assert wait_for(lambda: gateway.balance(account) == 1)


def test_the_catalog_models_are_listed_with_their_prices(gateway):
    models = {m.id: m for m in gateway.sdk("unused").models.list().data}
    large = models["mistralai/mistral-large-latest"].model_extra
    assert large["providers"] == ["mistral"] and large["pricing"]["prompt"] == "0.0000005"
    assert models["mistralai/mistral-embed"].model_extra["pricing"]["prompt"] == "0.0000001"


@pytest.mark.parametrize("body,problem", [
    ({"stream_options": {"include_usage": True}}, "extra_forbidden"),
    ({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_abc", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_abc", "content": "r"}]}, "must be a-z, A-Z, 0-9, with a length of 9"),
    ({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}, "Expected last role"),
    ({"tool_choice": "required", "tools": [{"type": "function", "function": {"name": "f"}}]}, "parameters"),
])
def test_the_fake_refuses_what_mistral_refuses(upstream, body, problem):
    request = {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "x"}], **body}
    response = httpx.post(upstream.base_url + "/chat/completions", json=request,
                          headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code in (400, 422) and problem in response.text and upstream.requests == []


def test_the_default_base_url_is_mistrals():
    from alltoken.config import ProviderConfig
    from alltoken.providers.openai.mistral import MistralProvider
    from alltoken.providers.transport import Transport

    provider = MistralProvider(ProviderConfig(id="m", type="mistral", api_key="k"), Transport())
    assert provider._chat_url == "https://api.mistral.ai/v1/chat/completions"


def test_embeddings_reach_mistral_in_its_own_fields_and_cost_the_catalog_price(client, upstream):
    result = client.embeddings.create(model="mistralai/mistral-embed", input=["un deux", "trois"], dimensions=2)
    assert upstream.requests[-1] == {"model": "mistral-embed", "input": ["un deux", "trois"], "output_dimension": 2}
    assert [d.embedding for d in result.data] == [[0.0, 7.0], [1.0, 5.0]]
    price = catalog_prices("mistralai/mistral-embed")["prompt"]
    assert result.usage.prompt_tokens == 3 and Decimal(str(result.usage.model_extra["cost"])) == 3 * price
