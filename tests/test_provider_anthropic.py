"""The `anthropic` provider: translator unit tests, then the real gateway in front of a fake
Anthropic Messages API, driven with the official openai SDK."""

from decimal import Decimal
from pathlib import Path

import anthropic
import httpx
import openai
import orjson
import pytest
import yaml

from alltoken.http.v1.validation import validate_chat
from alltoken.providers.anthropic.client import anthropic_error, stream_error
from alltoken.providers.anthropic.translate import (
    DEFAULT_MAX_TOKENS,
    JSON_OBJECT_INSTRUCTION,
    ModelTraits,
    StreamTranslator,
    TranslationError,
    to_chat_completion,
    to_messages_request,
)

from .conftest import anthropic_config
from .fakes.anthropic_upstream import API_KEY
from .harness import Gateway, wait_for
from .pricing_helpers import expected_cost

SONNET = ModelTraits(max_output_tokens=64000)
ADAPTIVE = ModelTraits(max_output_tokens=128000, adaptive_thinking=True)
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                                                 "parameters": {"type": "object",
                                                                "properties": {"city": {"type": "string"}},
                                                                "required": ["city"]}}}


def translate(messages, traits=SONNET, **extra) -> dict:
    return to_messages_request({"model": "claude-sonnet-4-5", "messages": messages, **extra}, traits)


def user(content):
    return {"role": "user", "content": content}


def assistant_calls(*calls, content=None):
    return {"role": "assistant", "content": content,
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
                           for call_id, name, args in calls]}


def tool(call_id, content):
    return {"role": "tool", "tool_call_id": call_id, "content": content}


# ---------------------------------------------------------------- request translation

def test_system_and_developer_messages_go_to_top_level_system_in_order():
    request = translate([{"role": "system", "content": "Be brief."}, user("hi"),
                         {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
                         {"role": "assistant", "content": "Salut"}, {"role": "system", "content": "No emoji."},
                         user("ça va ?")])
    assert request["system"] == [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Answer in French."},
                                  {"type": "text", "text": "No emoji."}]
    assert [m["role"] for m in request["messages"]] == ["user", "assistant", "user"]
    assert request["messages"][2]["content"] == [{"type": "text", "text": "ça va ?"}]


def test_empty_messages_are_dropped_and_same_role_turns_merged():
    request = translate([user(""), user("first"), {"role": "assistant", "content": ""}, user([]), user("second")])
    assert request["messages"] == [{"role": "user", "content": [{"type": "text", "text": "first"},
                                                                 {"type": "text", "text": "second"}]}]


def test_a_conversation_with_nothing_to_send_is_refused():
    with pytest.raises(TranslationError) as caught:
        translate([{"role": "system", "content": "x"}, user("")])
    assert caught.value.param == "messages"


def test_max_tokens_from_request_then_catalog_then_default():
    assert translate([user("x")], max_completion_tokens=50, max_tokens=70)["max_tokens"] == 50
    assert translate([user("x")], max_tokens=70)["max_tokens"] == 70
    assert translate([user("x")])["max_tokens"] == 64000
    assert translate([user("x")], traits=ModelTraits())["max_tokens"] == DEFAULT_MAX_TOKENS


def test_sampling_stop_and_user_map_to_native_fields():
    request = translate([user("x")], temperature=0.2, top_p=0.9, stop="END", user="u-1", seed=7,
                        presence_penalty=0.5)
    assert (request["temperature"], request["top_p"], request["stop_sequences"]) == (0.2, 0.9, ["END"])
    assert request["metadata"] == {"user_id": "u-1"}
    assert "seed" not in request and "presence_penalty" not in request
    assert translate([user("x")], stop=["a", "", "b"])["stop_sequences"] == ["a", "b"]


def test_images_become_base64_or_url_blocks():
    content = [{"type": "text", "text": "compare"},
               {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
               {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]
    blocks = translate([user(content)])["messages"][0]["content"]
    assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    assert blocks[2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}


@pytest.mark.parametrize("url", ["data:image/png,rawbytes", "ftp://example.com/a.png", ""])
def test_unusable_image_urls_are_refused(url):
    with pytest.raises(TranslationError):
        translate([user([{"type": "image_url", "image_url": {"url": url}}])])


def test_pdf_file_parts_become_document_blocks_and_audio_is_refused():
    part = {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}}
    block = translate([user([part])])["messages"][0]["content"][0]
    assert block == {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                                    "data": "JVBERi0="}}
    with pytest.raises(TranslationError, match="audio"):
        translate([user([{"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}])])


def test_cache_control_on_parts_is_kept_as_a_five_minute_cache():
    part = {"type": "text", "text": "long document", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    request = translate([{"role": "system", "content": [part]}, user([part])])
    assert request["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert request["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}


def test_tools_and_tool_choice_map_to_anthropic_shapes():
    request = translate([user("x")], tools=[WEATHER_TOOL], tool_choice="required")
    assert request["tools"] == [{"name": "get_weather", "description": "Weather now",
                                 "input_schema": WEATHER_TOOL["function"]["parameters"]}]
    assert request["tool_choice"] == {"type": "any"}
    expected = {"auto": {"type": "auto"}, "none": {"type": "none"},
                "required": {"type": "any"},
                None: None}
    for choice, native in expected.items():
        assert translate([user("x")], tools=[WEATHER_TOOL], tool_choice=choice).get("tool_choice") == native
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert translate([user("x")], tools=[WEATHER_TOOL], tool_choice=named)["tool_choice"] == {
        "type": "tool", "name": "get_weather"}
    assert translate([user("x")], tools=[WEATHER_TOOL], parallel_tool_calls=False)["tool_choice"] == {
        "type": "auto", "disable_parallel_tool_use": True}


def test_tool_without_parameters_gets_an_empty_object_schema():
    bare = {"type": "function", "function": {"name": "now"}}
    assert translate([user("x")], tools=[bare])["tools"] == [{"name": "now", "input_schema": {
        "type": "object", "properties": {}}}]


def test_parallel_tool_calls_and_results_round_trip_with_images_in_results():
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    request = translate([
        user("weather in Paris and Oslo?"),
        assistant_calls(("call_1", "get_weather", '{"city":"Paris"}'), ("call_2", "get_weather", '{"city":"Oslo"}'),
                        content="Checking both."),
        tool("call_1", "18C"),
        tool("call_2", [{"type": "text", "text": "radar:"}, image]),
    ], tools=[WEATHER_TOOL])
    turn = request["messages"][1]["content"]
    assert turn == [{"type": "text", "text": "Checking both."},
                    {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Oslo"}}]
    results = request["messages"][2]
    assert results["role"] == "user" and len(request["messages"]) == 3
    assert results["content"][0] == {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"}
    assert results["content"][1]["tool_use_id"] == "call_2"
    assert results["content"][1]["content"][1]["type"] == "image"


def test_tool_results_come_first_when_the_user_adds_text_after_them():
    request = translate([user("go"), assistant_calls(("c1", "get_weather", "{}")), tool("c1", "ok"),
                         user("and thanks")], tools=[WEATHER_TOOL])
    assert [b["type"] for b in request["messages"][2]["content"]] == ["tool_result", "text"]


def test_missing_tool_call_ids_are_synthesized_stably_and_paired_with_results():
    messages = [user("x"), assistant_calls((None, "get_weather", '{"city":"A"}'), ("", "get_weather", "")),
                tool("", "a"), tool("", "b")]
    first, second = translate(messages), translate(messages)
    assert first == second
    uses = first["messages"][1]["content"]
    results = first["messages"][2]["content"]
    assert [u["id"] for u in uses] == ["toolu_1_0", "toolu_1_1"]
    assert [r["tool_use_id"] for r in results] == ["toolu_1_0", "toolu_1_1"]
    assert uses[1]["input"] == {}


def test_foreign_tool_call_ids_are_cleaned_the_same_way_on_call_and_result():
    request = translate([user("x"), assistant_calls(("functions.get_weather:0", "get_weather", "{}")),
                         tool("functions.get_weather:0", "ok")])
    assert request["messages"][1]["content"][0]["id"] == "functions_get_weather_0"
    assert request["messages"][2]["content"][0]["tool_use_id"] == "functions_get_weather_0"


def test_tool_call_arguments_that_are_not_an_object_are_refused():
    with pytest.raises(TranslationError) as caught:
        translate([user("x"), assistant_calls(("c", "get_weather", "[1, 2]")), tool("c", "r")])
    assert caught.value.param == "messages[1].tool_calls[0]"


def test_json_schema_uses_native_structured_outputs_and_json_object_an_instruction():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"],
              "additionalProperties": False}
    request = translate([user("x")], response_format={"type": "json_schema",
                                                      "json_schema": {"name": "r", "schema": schema, "strict": True}})
    assert request["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    request = translate([{"role": "system", "content": "Be terse."}, user("x")],
                        response_format={"type": "json_object"})
    assert request["system"][-1] == {"type": "text", "text": JSON_OBJECT_INSTRUCTION}
    assert "output_config" not in request


def test_reasoning_effort_becomes_a_thinking_budget_on_budget_models():
    request = translate([user("x")], reasoning_effort="high", max_tokens=10000)
    assert request["thinking"] == {"type": "enabled", "budget_tokens": 8000}
    assert translate([user("x")], reasoning_effort="low", max_tokens=10000)["thinking"]["budget_tokens"] == 2000
    assert translate([user("x")], reasoning_effort="minimal", max_tokens=5000)["thinking"]["budget_tokens"] == 1024
    assert translate([user("x")], reasoning={"max_tokens": 3000})["thinking"]["budget_tokens"] == 3000
    assert "thinking" not in translate([user("x")], reasoning_effort="none")
    assert "thinking" not in translate([user("x")], reasoning={"enabled": False, "effort": "high"})


def test_reasoning_that_cannot_fit_in_max_tokens_is_refused():
    with pytest.raises(TranslationError) as caught:
        translate([user("x")], reasoning_effort="high", max_tokens=1000)
    assert caught.value.param == "max_tokens"
    with pytest.raises(TranslationError):
        translate([user("x")], reasoning_effort="extreme")


def test_reasoning_on_adaptive_models_uses_effort():
    request = translate([user("x")], ADAPTIVE, reasoning_effort="xhigh",
                        response_format={"type": "json_schema", "json_schema": {"schema": {"type": "object"}}})
    assert request["thinking"] == {"type": "adaptive"}
    assert request["output_config"] == {"effort": "max", "format": {"type": "json_schema",
                                                                    "schema": {"type": "object"}}}
    assert translate([user("x")], ADAPTIVE, reasoning_effort="minimal")["output_config"] == {"effort": "low"}
    budget_only = translate([user("x")], ADAPTIVE, reasoning={"max_tokens": 5000})
    assert budget_only["thinking"] == {"type": "adaptive"} and "output_config" not in budget_only


def test_thinking_blocks_sent_back_keep_thinking_on_in_a_tool_loop():
    signed = {"type": "thinking", "thinking": "Need weather.", "signature": "sig"}
    call = assistant_calls(("c1", "get_weather", '{"city":"Paris"}'))
    request = translate([user("x"), {**call, "thinking_blocks": [signed]}, tool("c1", "18C")],
                        tools=[WEATHER_TOOL], reasoning_effort="medium")
    assert request["messages"][1]["content"][0] == signed
    assert request["thinking"]["type"] == "enabled"
    without = translate([user("x"), call, tool("c1", "18C")], tools=[WEATHER_TOOL], reasoning_effort="medium")
    assert "thinking" not in without


def test_unsupported_request_shapes_are_refused_with_the_field():
    """Valid OpenAI requests that Anthropic cannot express (wrong types never get this far: http/v1/schemas/)."""
    for extra, param in [({"n": 2}, "n"), ({"functions": [{"name": "f"}]}, "functions"),
                         ({"tools": [{"type": "web_search"}]}, "tools[0]"),
                         ({"tools": [WEATHER_TOOL], "tool_choice": {"type": "custom", "custom": {"name": "f"}}},
                          "tool_choice"),
                         ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
                          "response_format")]:
        validate_chat({"model": "anthropic/claude-sonnet-4-5", "messages": [user("x")], **extra})
        with pytest.raises(TranslationError) as caught:
            translate([user("x")], **extra)
        assert caught.value.param == param


# ---------------------------------------------------------------- response translation

def anthropic_message(content, stop_reason="end_turn", **usage):
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": content,
            "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5, **usage}}


def test_text_thinking_and_tool_use_come_back_in_openai_shape():
    data = anthropic_message([{"type": "thinking", "thinking": "Hmm, météo.", "signature": "s1"},
                              {"type": "text", "text": "Let me check 🌦."},
                              {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Zürich"}},
                              {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}}],
                             stop_reason="tool_use")
    completion = to_chat_completion(data, created=1)
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] == "Let me check 🌦." and message["reasoning_content"] == "Hmm, météo."
    assert message["thinking_blocks"] == [{"type": "thinking", "thinking": "Hmm, météo.", "signature": "s1"}]
    assert [c["id"] for c in message["tool_calls"]] == ["toolu_1", "toolu_2"]
    assert orjson.loads(message["tool_calls"][0]["function"]["arguments"]) == {"city": "Zürich"}
    assert message["tool_calls"][1]["function"]["arguments"] == "{}"
    hidden = to_chat_completion(data, created=1, include_reasoning=False)["choices"][0]["message"]
    assert "reasoning_content" not in hidden and "thinking_blocks" not in hidden


def test_tool_only_reply_has_null_content_and_empty_reply_has_empty_string():
    only_tool = anthropic_message([{"type": "tool_use", "id": "t", "name": "f", "input": {}}], "tool_use")
    assert to_chat_completion(only_tool, 1)["choices"][0]["message"]["content"] is None
    assert to_chat_completion(anthropic_message([]), 1)["choices"][0]["message"]["content"] == ""


@pytest.mark.parametrize("stop_reason,finish", [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("pause_turn", "stop"), ("max_tokens", "length"),
    ("model_context_window_exceeded", "length"), ("tool_use", "tool_calls"), ("refusal", "content_filter"),
    (None, "stop"), ("something_new", "stop")])
def test_finish_reasons(stop_reason, finish):
    assert to_chat_completion(anthropic_message([], stop_reason), 1)["choices"][0]["finish_reason"] == finish


def test_usage_counts_cache_reads_and_writes_inside_prompt_tokens():
    data = anthropic_message([], cache_creation_input_tokens=300, cache_read_input_tokens=2000,
                             output_tokens_details={"thinking_tokens": 3})
    assert to_chat_completion(data, 1)["usage"] == {
        "prompt_tokens": 2310, "completion_tokens": 5, "total_tokens": 2315,
        "prompt_tokens_details": {"cached_tokens": 2000, "cache_write_tokens": 300},
        "completion_tokens_details": {"reasoning_tokens": 3}}


def test_a_very_long_output_is_passed_whole():
    text = "λ" * 200_000
    assert to_chat_completion(anthropic_message([{"type": "text", "text": text}]), 1)[
        "choices"][0]["message"]["content"] == text


# ---------------------------------------------------------------- stream translation

def stream_events():
    start = {"id": "msg_s", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
             "stop_reason": None, "usage": {"input_tokens": 40, "output_tokens": 1, "cache_read_input_tokens": 8,
                                            "cache_creation_input_tokens": 2}}
    return [
        {"type": "message_start", "message": start},
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Two cities."}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Checking "}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "😀"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2,
         "content_block": {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {}}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"city":'}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'}},
        {"type": "content_block_stop", "index": 2},
        {"type": "content_block_start", "index": 3,
         "content_block": {"type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {}}},
        {"type": "content_block_delta", "index": 3,
         "delta": {"type": "input_json_delta", "partial_json": '{"city":"Oslo"}'}},
        {"type": "content_block_stop", "index": 3},
        {"type": "some_future_event", "index": 9},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
         "usage": {"output_tokens": 61}},
        {"type": "message_stop"},
    ]


def run_stream(events, include_reasoning=True):
    translator = StreamTranslator(created=5, include_reasoning=include_reasoning)
    chunks = [chunk for event in events for chunk in translator.feed(event)]
    return translator, chunks


def test_stream_events_become_openai_chunks():
    translator, chunks = run_stream(stream_events())
    assert translator.finished
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "Two cities."
    assert "".join(d.get("content") or "" for d in deltas) == "Checking 😀"
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0] == {"index": 0, "id": "toolu_a", "type": "function",
                        "function": {"name": "get_weather", "arguments": ""}}
    assert calls[1:3] == [{"index": 0, "function": {"arguments": '{"city":'}},
                          {"index": 0, "function": {"arguments": '"Paris"}'}}]
    assert calls[3]["index"] == 1 and calls[3]["id"] == "toolu_b" and calls[4] == {
        "index": 1, "function": {"arguments": '{"city":"Oslo"}'}}
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finish == ["tool_calls"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 50
    assert chunks[-1]["usage"]["completion_tokens"] == 61
    assert chunks[-1]["usage"]["prompt_tokens_details"] == {"cached_tokens": 8, "cache_write_tokens": 2}
    assert all(c["id"] == "msg_s" and c["object"] == "chat.completion.chunk" for c in chunks)


def test_stream_without_reasoning_when_excluded_and_later_usage_overrides():
    events = stream_events()
    events[-2]["usage"] = {"output_tokens": 61, "input_tokens": 45, "cache_read_input_tokens": None}
    _, chunks = run_stream(events, include_reasoning=False)
    assert not any("reasoning_content" in c["choices"][0]["delta"] for c in chunks if c["choices"])
    assert chunks[-1]["usage"]["prompt_tokens"] == 55  # 45 fresh + 8 read (kept) + 2 written


def test_stream_not_finished_without_message_stop():
    translator, _ = run_stream(stream_events()[:-1])
    assert not translator.finished


# ---------------------------------------------------------------- error mapping

def error_body(kind, message="details"):
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})


@pytest.mark.parametrize("status,kind,ours,code,retryable", [
    (400, "invalid_request_error", 400, None, False),
    (404, "not_found_error", 404, "not_found_error", False),
    (413, "request_too_large", 413, "request_too_large", False),
    (401, "authentication_error", 502, "upstream_auth", False),
    (403, "permission_error", 502, "upstream_auth", False),
    (402, "billing_error", 502, "upstream_quota_exhausted", False),
    (429, "rate_limit_error", 429, "upstream_rate_limited", True),
    (529, "overloaded_error", 503, "upstream_overloaded", True),
    (500, "api_error", 502, "upstream_error", True),
    (504, "timeout_error", 504, "upstream_timeout", True),
])
def test_http_errors_are_classified(status, kind, ours, code, retryable):
    error = anthropic_error("anthropic", status, error_body(kind), {"retry-after": "3"})
    assert (error.status, error.code, error.retryable) == (ours, code, retryable)
    if status < 500 and status not in (401, 402, 403, 429):
        assert error.message == "details"
    else:
        assert "details" not in error.message


def test_stream_error_events_are_retryable_provider_errors():
    assert stream_error("a", {"type": "overloaded_error", "message": "Overloaded"}).status == 503
    other = stream_error("a", {"type": "api_error", "message": "secret"})
    assert other.status == 502 and other.retryable and "secret" not in other.message


# ---------------------------------------------------------------- end to end

MODEL = "anthropic/claude-haiku-4-5"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_anthropic):
    gateway = Gateway(tmp_path_factory.mktemp("anthropic"), anthropic_config(fake_anthropic)).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def key(gateway) -> str:
    """One funded key for the tests that do not look at balances (each new key costs CLI runs)."""
    return gateway.new_key(usd="50")[1]


@pytest.fixture
def fake(fake_anthropic):
    fake_anthropic.reset()
    return fake_anthropic


def test_catalog_prices_are_exact_decimals_with_cache_rates():
    catalog = yaml.safe_load((Path(__file__).parent.parent / "src/alltoken/catalog/data/anthropic.yaml")
                             .read_text())
    assert {m["id"] for m in catalog["models"]} >= {MODEL, "anthropic/claude-sonnet-5"}
    for model in catalog["models"]:
        price = {k: Decimal(v) for k, v in model["pricing"].items()}
        assert price["input_cache_read"] < price["prompt"] < price["input_cache_write"]
        assert all(-value.as_tuple().exponent <= 12 for value in price.values())


def test_completion_reaches_anthropic_natively_and_costs_exactly_the_catalog_price(gateway, fake):
    account, key = gateway.new_key(usd="1")
    fake.plan(input_tokens=120, cache_creation_input_tokens=1000, cache_read_input_tokens=4000, output_tokens=33)
    reply = gateway.sdk(key).chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        stop=["STOP"], temperature=0.5)
    sent, headers = fake.requests[-1], fake.headers[-1]
    assert headers["x-api-key"] == API_KEY and headers["anthropic-version"] == "2023-06-01"
    assert sent["model"] == "claude-haiku-4-5" and sent["max_tokens"] == 64000
    assert sent["system"] == [{"type": "text", "text": "Be brief."}]
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert sent["stop_sequences"] == ["STOP"] and sent["temperature"] == 0.5
    assert reply.choices[0].message.content == fake.default.text and reply.choices[0].finish_reason == "stop"
    usage = reply.usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (5120, 33)
    assert usage.prompt_tokens_details.cached_tokens == 4000
    assert usage.prompt_tokens_details.cache_write_tokens == 1000
    cost = expected_cost(MODEL, prompt=5120, completion=33, cached=4000, cache_write=1000)
    assert Decimal(str(usage.model_extra["cost"])) == cost
    assert wait_for(lambda: gateway.balance(account) == Decimal(1) - cost, timeout=3)


def test_stream_relays_text_and_ends_with_exact_usage(gateway, key, fake):
    fake.plan(text="Streaming from the fake Claude, with ünïcödé.", input_tokens=60, cache_read_input_tokens=40,
              output_tokens=12)
    chunks = list(gateway.sdk(key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "stream please"}], stream=True, max_tokens=300))
    assert fake.requests[-1]["stream"] is True and fake.requests[-1]["max_tokens"] == 300
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Streaming from the fake Claude, with ünïcödé."
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and (usage.prompt_tokens, usage.completion_tokens) == (100, 12)
    assert Decimal(str(usage.model_extra["cost"])) == expected_cost(MODEL, prompt=100, completion=12, cached=40)


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_round_trip(gateway, key, fake, stream):
    client = gateway.sdk(key)
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    if stream:
        chunks = list(client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL],
                                                     stream=True))
        deltas = [c.choices[0].delta.tool_calls[0] for c in chunks if c.choices and c.choices[0].delta.tool_calls]
        call_id, name = deltas[0].id, deltas[0].function.name
        arguments = "".join(d.function.arguments or "" for d in deltas)
        assert all(d.id is None for d in deltas[1:])
    else:
        reply = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
        assert reply.choices[0].finish_reason == "tool_calls" and reply.choices[0].message.content is None
        call = reply.choices[0].message.tool_calls[0]
        call_id, name, arguments = call.id, call.function.name, call.function.arguments
    assert (name, orjson.loads(arguments)) == ("get_weather", {"city": "Paris"})
    assert fake.requests[-1]["tools"][0]["input_schema"] == WEATHER_TOOL["function"]["parameters"]
    messages += [{"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": call_id, "content": "18C and sunny"}]
    final = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].message.content == fake.default.text
    sent = fake.requests[-1]["messages"]
    assert sent[1] == {"role": "assistant", "content": [
        {"type": "tool_use", "id": call_id, "name": "get_weather", "input": {"city": "Paris"}}]}
    assert sent[2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": call_id, "content": "18C and sunny"}]}


def test_images_reach_anthropic_as_native_blocks(gateway, key, fake):
    content = [{"type": "text", "text": "What is in these?"},
               {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
               {"type": "image_url", "image_url": {"url": "https://example.com/photo.webp"}}]
    gateway.sdk(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}])
    blocks = fake.requests[-1]["messages"][0]["content"]
    assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    assert blocks[2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/photo.webp"}}


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_comes_back_as_reasoning_content(gateway, key, fake, stream):
    fake.plan(thinking="The user greets me; greet back.")
    call = dict(model=MODEL, messages=[{"role": "user", "content": "Hello"}], reasoning_effort="medium",
                max_tokens=4000)
    if stream:
        chunks = list(gateway.sdk(key).chat.completions.create(**call, stream=True))
        reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
                            for c in chunks if c.choices)
    else:
        message = gateway.sdk(key).chat.completions.create(**call).choices[0].message
        reasoning = message.model_extra["reasoning_content"]
        assert message.model_extra["thinking_blocks"][0]["signature"].startswith("sig-fake")
    assert reasoning == "The user greets me; greet back."
    assert fake.requests[-1]["thinking"] == {"type": "enabled", "budget_tokens": 2000}


def test_models_with_adaptive_thinking_get_it_from_the_catalog(gateway, key, fake):
    gateway.sdk(key).chat.completions.create(model="anthropic/claude-sonnet-5", reasoning_effort="high",
                                             messages=[{"role": "user", "content": "x"}])
    sent = fake.requests[-1]
    assert sent["model"] == "claude-sonnet-5" and sent["max_tokens"] == 128000
    assert sent["thinking"] == {"type": "adaptive"} and sent["output_config"] == {"effort": "high"}


def test_a_request_anthropic_cannot_express_is_a_400_before_any_upstream_call(gateway, key, fake):
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.sdk(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], n=2)
    assert caught.value.body["param"] == "n" and fake.requests == []


@pytest.mark.parametrize("stream", [False, True])
def test_overloaded_529_is_a_retryable_503(gateway, fake, stream):
    account, key = gateway.new_key(usd="1")
    fake.plan(status=529, error_type="overloaded_error", headers={"retry-after": "2"})
    response = httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                          json={"model": MODEL, "messages": [{"role": "user", "content": "x"}], "stream": stream})
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
    assert response.json()["error"]["code"] == "upstream_overloaded"
    assert wait_for(lambda: gateway.recorded_statuses(account) == ["error"])
    assert gateway.balance(account) == Decimal(1)


def test_rate_limit_keeps_retry_after_and_auth_failure_is_neutral(gateway, key, fake):
    client = gateway.sdk(key)
    fake.plan(status=429, error_type="rate_limit_error", headers={"retry-after": "9"})
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert caught.value.response.headers["retry-after"] == "9"
    assert caught.value.body["code"] == "upstream_rate_limited"
    fake.plan(status=401, error_type="authentication_error")
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 502 and caught.value.body["code"] == "upstream_auth"
    assert "fake failure" not in caught.value.message


def test_upstream_400_comes_back_with_its_message(gateway, key, fake):
    fake.plan(status=400, error_type="invalid_request_error")
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.sdk(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["message"] == "fake failure 400"


def test_the_fake_is_as_strict_as_anthropic(fake):
    """Requests our translator must never send are refused by the fake, as by the real API."""
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    good = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    url = fake.base_url + "/v1/messages"
    assert httpx.post(url, headers=headers, json=good).status_code == 200
    assert httpx.post(url, headers={"x-api-key": API_KEY}, json=good).status_code == 400
    assert httpx.post(url, headers={"anthropic-version": "2023-06-01"}, json=good).status_code == 401
    without_max = {k: v for k, v in good.items() if k != "max_tokens"}
    assert "max_tokens" in httpx.post(url, headers=headers, json=without_max).json()["error"]["message"]
    system_role = {**good, "messages": [{"role": "system", "content": "s"}, *good["messages"]]}
    refused = httpx.post(url, headers=headers, json=system_role)
    assert refused.status_code == 400 and "top-level `system`" in refused.json()["error"]["message"]
    assert httpx.post(url, headers=headers, json={**good, "stream_options": {}}).status_code == 400
    assert len(fake.requests) == 1


def test_the_fake_answers_in_shapes_the_official_anthropic_sdk_parses(fake):
    client = anthropic.Anthropic(api_key=API_KEY, base_url=fake.base_url, max_retries=0,
                                 default_headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"})
    call = dict(model="claude-haiku-4-5", max_tokens=2000, messages=[{"role": "user", "content": "hi"}])
    fake.plan(thinking="Let me think.", cache_read_input_tokens=7)
    with client.messages.stream(**call, thinking={"type": "enabled", "budget_tokens": 1024}) as stream:
        message = stream.get_final_message()
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.usage.cache_read_input_tokens == 7 and message.usage.output_tokens == 9
    tools = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}]
    with client.messages.stream(**call, tools=tools) as stream:
        assert stream.get_final_message().content[0].input == {"city": "Paris"}
    fake.plan(status=529, error_type="overloaded_error")
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(**call)
    assert caught.value.status_code == 529


def test_mid_stream_overload_ends_the_stream_with_an_error_and_charges_nothing(gateway, fake):
    account, key = gateway.new_key(usd="1")
    fake.plan(fail_mid_stream=True)
    with pytest.raises(openai.APIError):
        list(gateway.sdk(key).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))
    assert wait_for(lambda: gateway.recorded_statuses(account) == ["error"])
    assert gateway.balance(account) == Decimal(1)


@pytest.mark.parametrize("plan", [{"malformed_event": True}, {"cut_stream": True}])
def test_broken_streams_end_with_an_error_event(gateway, key, fake, plan):
    fake.plan(**plan)
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": MODEL, "messages": [{"role": "user", "content": "x"}], "stream": True}) as r:
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert r.status_code == 200
    error = orjson.loads(events[-2][6:])["error"]
    assert error["code"] in ("upstream_malformed", "upstream_stream_error") and events[-1] == "data: [DONE]"


def test_error_event_before_any_content_is_an_http_error(gateway, key, fake):
    fake.plan(error_event_first=True)
    response = httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                          json={"model": MODEL, "messages": [{"role": "user", "content": "x"}], "stream": True})
    assert response.status_code == 503 and response.json()["error"]["code"] == "upstream_overloaded"
