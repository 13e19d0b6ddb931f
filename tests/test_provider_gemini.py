"""The `gemini` provider: pure translation, error mapping, the image fetcher, and end to end through
the real gateway in front of a fake Gemini API."""

import asyncio
import base64
import ipaddress
import shutil
import ssl
import subprocess
from decimal import Decimal

import aiohttp
import httpx
import openai
import orjson
import pytest
from aiohttp import web

from alltoken.config import ProviderConfig
from alltoken.errors import UpstreamError
from alltoken.providers import image_fetch
from alltoken.providers.base import ChatCall
from alltoken.providers.gemini.client import GeminiProvider, error_from_body, read_payloads, upstream_error
from alltoken.providers.gemini.translate import (
    SKIP_SIGNATURE,
    THOUGHT_SEPARATOR,
    StreamTranslator,
    first_call_number,
    gemini_schema,
    image_urls,
    to_gemini_request,
    to_openai_completion,
)
from alltoken.providers.transport import Transport

from .fakes.gemini_upstream import (
    API_KEY,
    EMBEDDING_SIZE,
    SIGNATURE,
    FakeGemini,
    check_batch_embed,
    check_request,
    embedding_for,
    embedding_tokens,
)
from .harness import Gateway, wait_for
from .pricing_helpers import catalog_prices, expected_cost

MODEL = "google/gemini-2.5-flash"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJ"
                       "RU5ErkJggg==")
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather now",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                   "additionalProperties": False, "$schema": "http://json-schema.org/draft-07/schema#"}}}


def request(messages, **extra) -> dict:
    return to_gemini_request({"model": "gemini-2.5-flash", "messages": messages, **extra})


def call_id(name_index: int, signature: str | None = None) -> str:
    return f"call_{name_index}" + (THOUGHT_SEPARATOR + signature if signature else "")


# ------------------------------------------------------------------------------- request translation

def test_system_and_developer_messages_merge_in_order_into_system_instruction():
    native = request([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
                      {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
                      {"role": "assistant", "content": "salut"}, {"role": "system", "content": "No emoji."}])
    assert native["systemInstruction"] == {"parts": [{"text": "Be brief."}, {"text": "Use French."},
                                                     {"text": "No emoji."}]}
    assert native["contents"] == [{"role": "user", "parts": [{"text": "hi"}]},
                                  {"role": "model", "parts": [{"text": "salut"}]}]
    assert check_request("gemini-2.5-flash", native) is None


def test_empty_messages_are_dropped_and_unicode_is_kept():
    parts = [{"type": "text", "text": ""}, {"type": "text", "text": "日本語 🚀 é"}]
    native = request([{"role": "user", "content": ""}, {"role": "assistant", "content": None},
                      {"role": "user", "content": parts}])
    assert native["contents"] == [{"role": "user", "parts": [{"text": "日本語 🚀 é"}]}]
    assert orjson.loads(orjson.dumps(native))["contents"][0]["parts"][0]["text"] == "日本語 🚀 é"


def test_a_conversation_with_nothing_but_system_messages_is_a_clear_400():
    with pytest.raises(UpstreamError) as caught:
        request([{"role": "system", "content": "alone"}])
    assert caught.value.status == 400 and "at least one" in caught.value.message


def test_images_become_inline_data_from_data_urls_and_fetched_https_urls():
    body = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "compare"}, {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://images.example/cat.jpg"}}]}]}
    assert image_urls(body) == ["https://images.example/cat.jpg"]
    native = to_gemini_request(body, {"https://images.example/cat.jpg": ("image/jpeg", b"\xff\xd8jpeg")})
    assert native["contents"][0]["parts"] == [
        {"text": "compare"}, {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}},
        {"inlineData": {"mimeType": "image/jpeg", "data": base64.b64encode(b"\xff\xd8jpeg").decode()}}]


def test_an_unfetched_or_malformed_image_is_refused():
    for url in ("https://images.example/x.png", "data:image/png,notbase64"):
        with pytest.raises(UpstreamError) as caught:
            request([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}])
        assert caught.value.status == 400


def test_sampling_limits_stop_and_json_output():
    native = request([{"role": "user", "content": "x"}], temperature=0.3, top_p=0.9, max_tokens=50, stop="END",
                     seed=7, n=2, response_format={"type": "json_object"})
    assert native["generationConfig"] == {"temperature": 0.3, "topP": 0.9, "maxOutputTokens": 50,
                                          "stopSequences": ["END"], "seed": 7, "candidateCount": 2,
                                          "responseMimeType": "application/json"}
    native = request([{"role": "user", "content": "x"}], max_completion_tokens=80, max_tokens=10, stop=["a", "b"])
    assert native["generationConfig"] == {"maxOutputTokens": 80, "stopSequences": ["a", "b"]}


def test_json_schema_response_format_becomes_a_response_schema():
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": ["integer", "null"]}},
              "required": ["name", "age"], "additionalProperties": False}
    native = request([{"role": "user", "content": "x"}],
                     response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": schema,
                                                                             "strict": True}})
    assert native["generationConfig"] == {"responseMimeType": "application/json", "responseSchema": {
        "type": "OBJECT", "properties": {"name": {"type": "STRING"}, "age": {"type": "INTEGER", "nullable": True}},
        "required": ["name", "age"]}}
    assert check_request("gemini-2.5-flash", native) is None


@pytest.mark.parametrize("effort,budget,thoughts", [("none", 0, False), ("low", 1024, True), ("high", 24576, True)])
def test_reasoning_effort_sets_a_thinking_budget_and_asks_for_thoughts(effort, budget, thoughts):
    native = request([{"role": "user", "content": "x"}], reasoning_effort=effort)
    assert native["generationConfig"]["thinkingConfig"] == {"thinkingBudget": budget, "includeThoughts": thoughts}


def test_openrouter_style_reasoning_and_no_thinking_config_by_default():
    native = request([{"role": "user", "content": "x"}], reasoning={"max_tokens": 2000, "exclude": True})
    assert native["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 2000, "includeThoughts": False}
    assert "generationConfig" not in request([{"role": "user", "content": "x"}])
    with pytest.raises(UpstreamError):
        request([{"role": "user", "content": "x"}], reasoning_effort="enormous")


def test_tools_become_function_declarations_and_tool_choice_a_calling_mode():
    no_params = {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}
    native = request([{"role": "user", "content": "x"}], tools=[WEATHER_TOOL, no_params], tool_choice="required")
    assert native["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather now",
         "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}},
        {"name": "now"}]}]
    assert native["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    assert check_request("gemini-2.5-flash", native) is None
    for choice, config in [("auto", {"mode": "AUTO"}), ("none", {"mode": "NONE"}),
                           ({"type": "function", "function": {"name": "now"}},
                            {"mode": "ANY", "allowedFunctionNames": ["now"]})]:
        native = request([{"role": "user", "content": "x"}], tools=[no_params], tool_choice=choice)
        assert native["toolConfig"] == {"functionCallingConfig": config}


def test_parallel_tool_calls_and_results_round_trip_with_names_recovered_by_id():
    messages = [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
            {"id": "toolu_other", "type": "function", "function": {"name": "get_time", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "toolu_other", "content": "12:00"},
        {"role": "tool", "tool_call_id": "call_0", "content": '{"temp": 21}'},
        {"role": "user", "content": "thanks"}]
    native = request(messages, tools=[WEATHER_TOOL])
    assert native["contents"][1] == {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
        {"functionCall": {"name": "get_time", "args": {}}}]}
    assert native["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_time", "response": {"output": "12:00"}}},
        {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}]}
    assert native["contents"][3] == {"role": "user", "parts": [{"text": "thanks"}]}
    assert check_request("gemini-2.5-flash", native) is None
    assert first_call_number({"messages": messages}) == 2


def test_a_tool_result_with_an_image_sends_the_image_after_the_response():
    messages = [{"role": "user", "content": "look"},
                {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                      "function": {"name": "snap", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": [
                    {"type": "text", "text": "here"}, {"type": "image_url", "image_url": {"url": PNG_URL}}]}]
    parts = request(messages)["contents"][2]["parts"]
    assert parts[0] == {"functionResponse": {"name": "snap", "response": {"output": "here"}}}
    assert parts[1]["inlineData"]["mimeType"] == "image/png"


def test_a_tool_result_for_an_unknown_call_is_a_400():
    with pytest.raises(UpstreamError) as caught:
        request([{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "nope", "content": "1"}])
    assert caught.value.status == 400 and "tool_call_id" in caught.value.message


def test_thought_signatures_ride_in_the_call_id_and_go_back_unchanged():
    completion = to_openai_completion({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": SIGNATURE},
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}]}, "finishReason": "STOP"}]},
        "gemini-3-flash-preview", call_offset=4)
    calls = completion["choices"][0]["message"]["tool_calls"]
    assert calls[0]["id"].startswith("call_4" + THOUGHT_SEPARATOR) and calls[1]["id"] == "call_5"
    assert all(c.isalnum() or c in "_-" for c in calls[0]["id"])
    messages = [{"role": "user", "content": "x"}, {"role": "assistant", "content": None, "tool_calls": calls},
                {"role": "tool", "tool_call_id": calls[0]["id"], "content": "cold"},
                {"role": "tool", "tool_call_id": calls[1]["id"], "content": "warm"}]
    native = to_gemini_request({"model": "gemini-3-flash-preview", "messages": messages})
    assert native["contents"][1]["parts"][0]["thoughtSignature"] == SIGNATURE
    assert "thoughtSignature" not in native["contents"][1]["parts"][1]
    assert check_request("gemini-3-flash-preview", native) is None


def test_gemini_3_calls_replayed_without_a_signature_get_the_documented_bypass():
    messages = [{"role": "user", "content": "x"},
                {"role": "assistant", "tool_calls": [{"id": "call_abc", "type": "function",
                                                      "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_abc", "content": "1"}]
    assert to_gemini_request({"model": "gemini-3.1-pro-preview", "messages": messages})[
        "contents"][1]["parts"][0]["thoughtSignature"] == SKIP_SIGNATURE
    assert "thoughtSignature" not in request(messages)["contents"][1]["parts"][0]


# ------------------------------------------------------------------------------------- JSON Schema

def test_schema_refs_are_inlined_and_unsupported_keywords_dropped():
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {
        "Pet": {"type": "object", "properties": {"kind": {"const": "cat"}, "legs": {"type": "integer",
                                                                                   "format": "int32"}},
                "additionalProperties": False}},
        "type": "object", "title": "Owner", "properties": {
            "pet": {"$ref": "#/$defs/Pet"}, "email": {"type": "string", "format": "email", "default": "x"},
            "size": {"enum": [1, 2]}, "colour": {"enum": ["red", "blue"]},
            "when": {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "mood": {"type": ["string", "null"], "enum": ["ok", None]}},
        "required": ["pet", "ghost"]}
    native = gemini_schema(schema)
    assert native == {"type": "OBJECT", "title": "Owner", "required": ["pet"], "properties": {
        "pet": {"type": "OBJECT", "properties": {"kind": {"enum": ["cat"], "type": "STRING", "format": "enum"},
                                                 "legs": {"type": "INTEGER", "format": "int32"}}},
        "email": {"type": "STRING"}, "size": {}, "colour": {"enum": ["red", "blue"], "type": "STRING",
                                                            "format": "enum"},
        "when": {"nullable": True, "type": "STRING", "format": "date-time"},
        "tags": {"type": "ARRAY", "items": {"type": "STRING"}},
        "mood": {"type": "STRING", "nullable": True, "enum": ["ok"], "format": "enum"}}}


def test_recursive_refs_and_multi_type_unions_are_cut_to_what_gemini_accepts():
    schema = {"$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
              "type": "object", "properties": {"root": {"$ref": "#/$defs/Node"},
                                               "value": {"type": ["string", "number", "null"]},
                                               "both": {"allOf": [{"properties": {"a": {"type": "string"}}},
                                                                  {"properties": {"b": {"type": "string"}},
                                                                   "required": ["b"]}]}}}
    native = gemini_schema(schema)
    assert check_request("gemini-2.5-flash", {"contents": [{"role": "user", "parts": [{"text": "x"}]}],
                                              "generationConfig": {"responseSchema": native}}) is None
    assert native["properties"]["value"] == {"nullable": True, "anyOf": [{"type": "STRING"}, {"type": "NUMBER"}]}
    assert native["properties"]["both"] == {"properties": {"a": {"type": "STRING"}, "b": {"type": "STRING"}},
                                            "required": ["b"]}
    depth, node = 0, native["properties"]["root"]
    while "properties" in node:
        node, depth = node["properties"]["child"], depth + 1
    assert node == {"type": "OBJECT"} and depth < 12


# ------------------------------------------------------------------------------ response translation

def _response(parts, finish="STOP", **usage) -> dict:
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
            "usageMetadata": usage, "responseId": "r1"}


def test_text_thoughts_and_usage_of_a_completion():
    data = _response([{"text": "plan", "thought": True}, {"text": "Hello "}, {"text": "world"}],
                     promptTokenCount=100, candidatesTokenCount=20, thoughtsTokenCount=30,
                     cachedContentTokenCount=40, toolUsePromptTokenCount=5)
    completion = to_openai_completion(data, "gemini-2.5-flash")
    assert completion["choices"] == [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "Hello world", "reasoning_content": "plan"}}]
    assert completion["usage"] == {"prompt_tokens": 105, "completion_tokens": 50, "total_tokens": 155,
                                   "prompt_tokens_details": {"cached_tokens": 40},
                                   "completion_tokens_details": {"reasoning_tokens": 30}}


@pytest.mark.parametrize("native,ours", [("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"),
                                         ("RECITATION", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"),
                                         ("MALFORMED_FUNCTION_CALL", "stop"), ("OTHER", "stop")])
def test_finish_reasons(native, ours):
    assert to_openai_completion(_response([{"text": "x"}], native), "m")["choices"][0]["finish_reason"] == ours


def test_a_function_call_finishes_with_tool_calls_and_gets_a_synthesized_id():
    data = _response([{"functionCall": {"name": "f", "args": {"a": [1, "é"]}}}])
    message = to_openai_completion(data, "m", call_offset=3)["choices"][0]
    assert message["finish_reason"] == "tool_calls" and message["message"]["content"] is None
    assert message["message"]["tool_calls"] == [{"id": "call_3", "type": "function",
                                                 "function": {"name": "f", "arguments": '{"a":[1,"é"]}'}}]
    data = _response([{"functionCall": {"id": "gem-1", "name": "f"}}])
    assert to_openai_completion(data, "m")["choices"][0]["message"]["tool_calls"][0]["id"] == "gem-1"


def test_a_blocked_prompt_is_a_content_filter_answer():
    data = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 8}}
    completion = to_openai_completion(data, "m")
    assert completion["choices"][0]["finish_reason"] == "content_filter"
    assert completion["usage"]["prompt_tokens"] == 8


def _stream(events, offset=0):
    translator = StreamTranslator("gemini-2.5-flash", offset)
    chunks = [chunk for event in events for chunk in translator.chunks(event)]
    return chunks, translator


def test_stream_text_thoughts_finish_and_the_last_cumulative_usage():
    events = [{"candidates": [{"content": {"parts": [{"text": "hm", "thought": True}]}}],
               "usageMetadata": {"promptTokenCount": 10, "totalTokenCount": 10}},
              {"candidates": [{"content": {"parts": [{"text": "Hel"}]}}],
               "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 1, "totalTokenCount": 11}},
              {"candidates": [{"content": {"parts": [{"text": "lo"}]}, "finishReason": "STOP"}],
               "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 2, "thoughtsTokenCount": 4}}]
    chunks, translator = _stream(events)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "reasoning_content": "hm"}
    assert [c["choices"][0]["delta"] for c in chunks[1:]] == [{"content": "Hel"}, {"content": "lo"}, {}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    final = translator.final_chunks()
    assert final[0]["choices"] == [] and final[0]["usage"]["completion_tokens"] == 6
    assert final[0]["usage"]["completion_tokens_details"] == {"reasoning_tokens": 4}


def test_stream_tool_calls_arrive_as_a_named_first_delta_then_the_arguments():
    events = [{"candidates": [{"content": {"parts": [
        {"functionCall": {"name": "a", "args": {"x": 1}}, "thoughtSignature": SIGNATURE},
        {"functionCall": {"name": "b", "args": {}}}]}, "finishReason": "STOP"}]}]
    chunks, _ = _stream(events, offset=2)
    deltas = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks[:4]]
    assert deltas[0]["index"] == 0 and deltas[0]["type"] == "function" and deltas[0]["id"].startswith("call_2__")
    assert deltas[0]["function"] == {"name": "a", "arguments": ""}
    assert deltas[1] == {"index": 0, "function": {"arguments": '{"x":1}'}}
    assert deltas[2]["id"] == "call_3" and deltas[3] == {"index": 1, "function": {"arguments": "{}"}}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    non_stream = to_openai_completion(events[0], "m", call_offset=2)["choices"][0]["message"]["tool_calls"]
    assert [d["id"] for d in deltas[::2]] == [c["id"] for c in non_stream]


def test_a_very_long_stream_is_relayed_piece_by_piece():
    pieces = [f"{n} ✓ " * 50 for n in range(2000)]
    events = [{"candidates": [{"content": {"parts": [{"text": p}]}}]} for p in pieces]
    events[-1]["candidates"][0]["finishReason"] = "MAX_TOKENS"
    chunks, _ = _stream(events)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "".join(pieces)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_a_stream_that_ends_before_finishing_is_an_error():
    _, translator = _stream([{"candidates": [{"content": {"parts": [{"text": "cut"}]}}]}])
    with pytest.raises(UpstreamError) as caught:
        translator.final_chunks()
    assert caught.value.status == 502


# ----------------------------------------------------------------------------------- error mapping

def _error(status, rpc_status, message="boom", details=(), headers=None):
    raw = orjson.dumps({"error": {"code": status, "message": message, "status": rpc_status, "details": details}})
    return upstream_error("gem", status, raw, headers or {})


def test_upstream_errors_map_to_ours():
    bad = _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
    assert (bad.status, bad.message, bad.code, bad.retryable) == (400, "Request contains an invalid argument.",
                                                                  "invalid_argument", False)
    limited = _error(429, "RESOURCE_EXHAUSTED", details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                          "retryDelay": "23s"}])
    assert (limited.status, limited.retryable, limited.retry_after) == (429, True, 23.0)
    assert _error(429, "RESOURCE_EXHAUSTED", headers={"retry-after": "4"}).retry_after == 4.0
    overloaded = _error(503, "UNAVAILABLE", "The model is overloaded.")
    assert (overloaded.status, overloaded.retryable, overloaded.code) == (503, True, "upstream_overloaded")
    assert _error(500, "INTERNAL").status == 502 and _error(500, "INTERNAL").retryable
    assert _error(504, "DEADLINE_EXCEEDED").status == 504
    assert _error(404, "NOT_FOUND", "models/x is not found").message == "models/x is not found"


def test_credential_billing_and_region_problems_get_a_neutral_message():
    for error in (_error(403, "PERMISSION_DENIED", "secret detail"),
                  _error(400, "INVALID_ARGUMENT", "API key not valid.", [{"reason": "API_KEY_INVALID"}])):
        assert (error.status, error.code) == (502, "upstream_auth") and "secret" not in error.message
    region = _error(400, "FAILED_PRECONDITION", "User location is not supported for the API use.")
    assert region.status == 502 and "location" not in region.message
    assert _error(402, "RESOURCE_EXHAUSTED").code == "upstream_quota_exhausted"
    assert upstream_error("gem", 500, b"<html>oops</html>", {}).status == 502


def test_a_mid_stream_error_event_is_a_provider_error():
    error = error_from_body("gem", {"code": 500, "message": "An internal error has occurred."}, None, mid_stream=True)
    assert error.status == 502 and error.code == "upstream_stream_error" and "internal error" in error.message
    assert error_from_body("gem", {"code": 429, "status": "RESOURCE_EXHAUSTED"}, None, mid_stream=True).status == 429


async def test_sse_payloads_including_a_bare_multi_line_error():
    async def lines():
        for line in [b'data: {"a": 1}\r\n', b"\r\n", b": comment\n", b'data: {"b":\n', b'data: 2}\n', b"\n",
                     b"{\n", b'  "error": {\n', b'    "code": 503\n', b"  }\n", b"}\n"]:
            yield line
    payloads = [orjson.loads(p) async for p in read_payloads(lines())]
    assert payloads == [{"a": 1}, {"b": 2}, {"error": {"code": 503}}]


# ------------------------------------------------------------------------------------- image fetch

@pytest.mark.parametrize("address,allowed", [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("127.0.0.1", False), ("10.1.2.3", False),
    ("172.16.0.1", False), ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("224.0.0.1", False), ("240.0.0.1", False), ("0.0.0.0", False), ("::1", False), ("fe80::1", False),
    ("fc00::1", False), ("ff02::1", False), ("::ffff:127.0.0.1", False), ("64:ff9b::a00:1", False),
    ("2002:7f00:1::", False)])
def test_which_addresses_an_image_may_come_from(address, allowed):
    assert image_fetch.address_allowed(ipaddress.ip_address(address)) is allowed


@pytest.mark.parametrize("url,reason", [
    ("https://127.0.0.1/cat.png", "private or reserved"), ("https://localhost:8443/cat.png", "private or reserved"),
    ("https://[::1]/cat.png", "private or reserved"), ("http://example.com/cat.png", "must use https"),
    ("file:///etc/passwd", "must use https"), ("https://user:pw@example.com/x.png", "no credentials"),
    ("https://no-such-host.invalid/x.png", "does not resolve")])
async def test_image_urls_that_are_refused_before_any_connection(url, reason):
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamError) as caught:
            await image_fetch.fetch_image(session, url)
    assert caught.value.status == 400 and reason in caught.value.message
    assert caught.value.code == "invalid_image_url"


async def test_a_host_with_any_private_address_is_refused(monkeypatch):
    loop = asyncio.get_running_loop()

    async def resolve(host, port, **_):
        return [(2, 1, 6, "", ("93.184.215.14", port)), (2, 1, 6, "", ("10.0.0.5", port))]
    monkeypatch.setattr(loop, "getaddrinfo", resolve)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamError, match="private or reserved"):
            await image_fetch.fetch_image(session, "https://rebind.example/x.png")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.fail("needs the openssl command (Debian package openssl) to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=images.test", "-addext", "subjectAltName=DNS:images.test,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
async def image_server(tls_files, monkeypatch):
    """A local https server named images.test, resolving to 127.0.0.1, which the address check is
    told to allow (127.0.0.2 stays refused); and a client session that trusts its certificate."""
    cert, key = tls_files
    app = web.Application()
    pages = {"/cat.png": lambda r: web.Response(body=PNG, content_type="image/png"),
             "/page": lambda r: web.Response(text="<html>", content_type="text/html"),
             "/big.png": lambda r: web.Response(body=b"\x89PNG" + b"0" * 5000, content_type="image/png"),
             "/to-cat": lambda r: web.HTTPFound("/cat.png"),
             "/to-private": lambda r: web.HTTPFound(f"https://127.0.0.2:{r.url.port}/cat.png"),
             "/to-http": lambda r: web.HTTPFound("http://images.test/cat.png")}

    async def answer(request):
        reply = pages[request.path](request)
        if isinstance(reply, web.HTTPException):
            raise reply
        return reply
    for path in pages:
        app.router.add_get(path, answer)
    app.router.add_get("/chunked.png", _chunked_image(10, 1000))
    app.router.add_get("/large.png", _chunked_image(320, 65536))   # 20 MB, for the byte budget
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    real_resolve = loop.getaddrinfo

    async def resolve(host, port_, **kwargs):
        if host == "images.test":
            return [(2, 1, 6, "", ("127.0.0.1", port_))]
        return await real_resolve(host, port_, **kwargs)
    monkeypatch.setattr(loop, "getaddrinfo", resolve)
    monkeypatch.setattr(image_fetch, "address_allowed", lambda address: str(address) == "127.0.0.1")
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=cert)))
    yield session, f"https://images.test:{port}"
    await session.close()
    await runner.cleanup()


def _chunked_image(chunks: int, size: int):
    """A handler sending an image of `chunks` pieces of `size` bytes and no Content-Length: only counting
    the bytes as they come can stop it."""
    async def answer(request):
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(chunks):
            await response.write(b"x" * size)
        return response
    return answer


async def test_a_request_naming_more_image_urls_than_allowed_is_refused_before_any_fetch(image_server, monkeypatch):
    session, base = image_server
    fetched = []
    real_fetch = image_fetch.fetch_image

    async def counted(session, url, **options):
        fetched.append(url)
        return await real_fetch(session, url, **options)
    monkeypatch.setattr(image_fetch, "fetch_image", counted)
    urls = [f"{base}/cat.png?copy={number}" for number in range(4)]
    with pytest.raises(UpstreamError) as caught:
        await image_fetch.fetch_images(session, urls, image_fetch.ImageFetchLimits(max_images=3))
    assert (caught.value.status, caught.value.code) == (400, "too_many_image_urls") and fetched == []
    assert "names 4 image URLs; at most 3" in caught.value.message
    assert len(await image_fetch.fetch_images(session, urls[:3], image_fetch.ImageFetchLimits(max_images=3))) == 3


async def test_the_images_of_a_request_stop_downloading_at_its_byte_budget(image_server, monkeypatch):
    """The issue's shape: ten URLs of about 20 MB each. With a budget of 1 MB the fetches read little more
    than 1 MB together (a chunk each at most in flight), stop, and the request is refused with 413."""
    session, base = image_server
    taken = []

    class Counted(image_fetch._Budget):
        def take(self, size):
            taken.append(size)
            super().take(size)
    monkeypatch.setattr(image_fetch, "_Budget", Counted)
    urls = [f"{base}/large.png?copy={number}" for number in range(10)]
    with pytest.raises(UpstreamError) as caught:
        await image_fetch.fetch_images(session, urls, image_fetch.ImageFetchLimits(max_bytes=1024 * 1024))
    assert (caught.value.status, caught.value.code) == (413, "images_too_large")
    assert "larger than 1 MB together" in caught.value.message
    assert 1024 * 1024 < sum(taken) <= 1024 * 1024 + 10 * 65536


async def test_an_image_is_fetched_from_the_vetted_address_with_the_certificate_checked(image_server):
    session, base = image_server
    assert await image_fetch.fetch_image(session, base + "/cat.png") == ("image/png", PNG)
    assert await image_fetch.fetch_image(session, base + "/to-cat") == ("image/png", PNG)


@pytest.mark.parametrize("path,reason", [("/page", "is not an image"), ("/big.png", "larger than"),
                                         ("/chunked.png", "larger than"), ("/to-private", "private or reserved"),
                                         ("/to-http", "must use https"), ("/missing.png", "HTTP 404")])
async def test_fetched_images_are_refused_for_type_size_and_redirects(image_server, path, reason):
    session, base = image_server
    with pytest.raises(UpstreamError) as caught:
        await image_fetch.fetch_image(session, base + path, max_bytes=4096)
    assert caught.value.status == 400 and reason in caught.value.message


# ------------------------------------------------------------------------- provider, in process

@pytest.fixture(scope="module")
def fake_gemini():
    fake = FakeGemini().start()
    yield fake
    fake.stop()


@pytest.fixture
def upstream(fake_gemini):
    fake_gemini.reset()
    return fake_gemini


async def test_https_image_urls_are_fetched_through_the_guard_and_sent_inline(upstream, monkeypatch):
    fetched = []

    async def fake_fetch(session, url, **limits):
        fetched.append(url)
        return "image/webp", b"RIFFwebp"
    monkeypatch.setattr(image_fetch, "fetch_image", fake_fetch)
    transport = Transport()
    provider = GeminiProvider(ProviderConfig("gem", "gemini", api_key=API_KEY, base_url=upstream.base_url), transport)
    try:
        body = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://cdn.example/a.webp"}}]}]}
        result = await provider.chat(ChatCall(body, "req-1"))
    finally:
        await transport.close()
    assert fetched == ["https://cdn.example/a.webp"]
    assert upstream.requests[-1]["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/webp", "data": base64.b64encode(b"RIFFwebp").decode()}}]
    assert result.usage.prompt_tokens == 17


async def test_a_loopback_image_url_never_reaches_the_upstream(upstream):
    transport = Transport()
    provider = GeminiProvider(ProviderConfig("gem", "gemini", api_key=API_KEY, base_url=upstream.base_url), transport)
    body = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://127.0.0.1/secret.png"}}]}]}
    try:
        with pytest.raises(UpstreamError) as caught:
            await provider.chat(ChatCall(body, "req-2"))
    finally:
        await transport.close()
    assert caught.value.status == 400 and upstream.requests == []


# --------------------------------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def gemini_gateway(tmp_path_factory, fake_gemini):
    config = {"providers": [{"id": "gemini", "type": "gemini", "api_key": API_KEY,
                             "base_url": fake_gemini.base_url}],
              "images": {"max_fetched_images": 4}}
    gateway = Gateway(tmp_path_factory.mktemp("gemini"), config).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def key(gemini_gateway) -> str:
    """One key with ample credit for the tests that do not look at a balance (a new key costs
    three CLI runs)."""
    return gemini_gateway.new_key(usd="100")[1]


def test_the_fake_is_as_strict_as_gemini(upstream):
    url = upstream.base_url + "/v1beta/models/gemini-2.5-flash:generateContent"
    user = {"role": "user", "parts": [{"text": "x"}]}
    assert httpx.post(url, json={"contents": [user]}).status_code == 403
    for body in ({}, {"contents": []}, {"contents": [{"role": "system", "parts": [{"text": "x"}]}, user]},
                 {"contents": [user], "messages": []}, {"contents": [{"role": "user", "parts": [{"text": ""}]}]}):
        response = httpx.post(url, json=body, headers={"x-goog-api-key": API_KEY})
        assert response.status_code == 400 and response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert upstream.requests == []


def test_a_completion_reaches_gemini_in_its_native_form(gemini_gateway, upstream, key):
    reply = gemini_gateway.sdk(key).chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hi"}],
        max_tokens=64, temperature=0.5)
    assert reply.choices[0].message.content == upstream.default.text
    assert reply.choices[0].finish_reason == "stop" and reply.model == MODEL
    assert upstream.paths[-1] == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert upstream.headers[-1]["x-goog-api-key"] == API_KEY
    assert upstream.requests[-1] == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                                     "systemInstruction": {"parts": [{"text": "Be kind."}]},
                                     "generationConfig": {"temperature": 0.5, "maxOutputTokens": 64}}


def test_a_stream_relays_text_then_a_usage_chunk(gemini_gateway, upstream, key):
    chunks = list(gemini_gateway.sdk(key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True))
    assert upstream.paths[-1] == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == upstream.default.text
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 17
    assert chunks[-1].usage.completion_tokens == 9


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_call_round_trip(gemini_gateway, upstream, stream, key):
    client = gemini_gateway.sdk(key)
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    if stream:
        chunks = list(client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL],
                                                     stream=True))
        deltas = [c.choices[0].delta.tool_calls[0] for c in chunks if c.choices and c.choices[0].delta.tool_calls]
        call = {"id": deltas[0].id, "type": "function",
                "function": {"name": deltas[0].function.name,
                             "arguments": "".join(d.function.arguments for d in deltas)}}
        assert deltas[0].function.arguments == "" and deltas[0].index == 0
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    else:
        reply = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
        assert reply.choices[0].finish_reason == "tool_calls"
        call = reply.choices[0].message.tool_calls[0].model_dump()
    assert call["id"] == "call_0" and call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert "additionalProperties" not in str(upstream.requests[-1]["tools"])
    messages += [{"role": "assistant", "content": None, "tool_calls": [call]},
                 {"role": "tool", "tool_call_id": call["id"], "content": '{"temp_c": 19}'}]
    upstream.plan(text="It is 19 degrees in Paris.")
    final = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].message.content == "It is 19 degrees in Paris."
    assert upstream.requests[-1]["contents"][1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 19}}}]}]


def test_gemini_3_tool_calls_keep_their_thought_signature_across_turns(gemini_gateway, upstream, key):
    client = gemini_gateway.sdk(key)
    upstream.plan(calls=[("get_weather", {"city": "Oslo"}), ("get_weather", {"city": "Rome"})], signature=SIGNATURE)
    messages = [{"role": "user", "content": "Oslo and Rome?"}]
    reply = client.chat.completions.create(model="google/gemini-3-flash-preview", messages=messages,
                                           tools=[WEATHER_TOOL])
    calls = reply.choices[0].message.tool_calls
    assert len(calls) == 2 and calls[1].id == "call_1"
    messages += [reply.choices[0].message.model_dump(exclude_none=True)]
    messages += [{"role": "tool", "tool_call_id": c.id, "content": "mild"} for c in calls]
    final = client.chat.completions.create(model="google/gemini-3-flash-preview", messages=messages,
                                           tools=[WEATHER_TOOL])
    assert final.choices[0].message.content == upstream.default.text
    assert upstream.requests[-1]["contents"][1]["parts"][0]["thoughtSignature"] == SIGNATURE


def test_an_image_input_arrives_as_inline_data(gemini_gateway, upstream, key):
    gemini_gateway.sdk(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
        {"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": PNG_URL}}]}])
    assert upstream.requests[-1]["contents"][0]["parts"][1] == {
        "inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}}


def test_an_https_image_on_a_private_address_is_refused_by_the_gateway(gemini_gateway, upstream, key):
    with pytest.raises(openai.BadRequestError) as caught:
        gemini_gateway.sdk(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://169.254.169.254/latest/meta-data"}}]}])
    assert caught.value.body["code"] == "invalid_image_url" and upstream.requests == []


def test_image_urls_past_the_limit_are_refused_before_any_fetch_and_count_in_the_hold(gemini_gateway, upstream):
    """The issue's 864-byte request naming ten large images: with `images.max_fetched_images: 4`, the gateway
    refuses it with a 400 before fetching anything, and the request costs nothing. Each image URL counts in
    the hold (40,000 input tokens: what the 402 of a nearly empty account says)."""
    account, key = gemini_gateway.new_key(usd="1")
    parts = [{"type": "image_url", "image_url": {"url": f"https://images.invalid/{n}.png"}} for n in range(10)]
    with pytest.raises(openai.BadRequestError) as caught:
        gemini_gateway.sdk(key).chat.completions.create(model=MODEL, max_tokens=10,
                                                        messages=[{"role": "user", "content": parts}])
    assert caught.value.body["code"] == "too_many_image_urls" and "at most 4" in caught.value.body["message"]
    assert upstream.requests == []
    assert wait_for(lambda: gemini_gateway.recorded_statuses(account) == ["error"])
    assert gemini_gateway.balance(account) == 1
    _, poor = gemini_gateway.new_key(usd="0.000001")
    with pytest.raises(openai.APIStatusError) as refused:
        gemini_gateway.sdk(poor).chat.completions.create(model=MODEL, max_tokens=10,
                                                         messages=[{"role": "user", "content": parts[:2]}])
    assert refused.value.status_code == 402 and "80008 input" in refused.value.body["message"]


def test_reasoning_comes_back_as_reasoning_content(gemini_gateway, upstream, key):
    upstream.plan(thoughts="Let me think.", thoughts_tokens=12)
    reply = gemini_gateway.sdk(key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "2+2?"}], reasoning_effort="low")
    assert reply.choices[0].message.model_extra["reasoning_content"] == "Let me think."
    assert upstream.requests[-1]["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 1024,
                                                                           "includeThoughts": True}
    assert reply.usage.completion_tokens_details.reasoning_tokens == 12
    upstream.plan(thoughts="Hmm.", thoughts_tokens=3)
    chunks = list(gemini_gateway.sdk(key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "2+2?"}], reasoning_effort="low", stream=True))
    assert chunks[0].choices[0].delta.model_extra["reasoning_content"] == "Hmm."


@pytest.mark.parametrize("stream", [False, True])
def test_usage_and_cost_are_exact(gemini_gateway, upstream, stream):
    model = "google/gemini-2.5-pro"
    account, key = gemini_gateway.new_key(usd="2")
    upstream.plan(prompt_tokens=1234, candidates_tokens=500, thoughts_tokens=67, cached_tokens=200)
    messages = [{"role": "user", "content": "price me"}]
    client = gemini_gateway.sdk(key)
    if stream:
        usage = list(client.chat.completions.create(model=model, messages=messages, stream=True))[-1].usage
    else:
        usage = client.chat.completions.create(model=model, messages=messages).usage
    expected = expected_cost(model, prompt=1234, completion=567, cached=200, reasoning=67)
    assert (usage.prompt_tokens, usage.completion_tokens) == (1234, 567)
    assert usage.prompt_tokens_details.cached_tokens == 200
    assert usage.completion_tokens_details.reasoning_tokens == 67
    assert Decimal(str(usage.model_extra["cost"])) == expected
    assert wait_for(lambda: gemini_gateway.balance(account) == Decimal(2) - expected, timeout=3)


def _post(gateway, key, **body):
    return httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": MODEL, "messages": [{"role": "user", "content": "x"}], **body}, timeout=30)


def test_errors_arrive_with_the_right_status_and_shape(gemini_gateway, upstream, key):
    upstream.plan(status=429, rpc_status="RESOURCE_EXHAUSTED", message="Quota exceeded.",
                  details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}])
    response = _post(gemini_gateway, key)
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.json()["error"]["code"] == "upstream_rate_limited"
    upstream.plan(status=503, rpc_status="UNAVAILABLE", message="The model is overloaded.")
    response = _post(gemini_gateway, key, stream=True)
    assert response.status_code == 503 and response.json()["error"]["code"] == "upstream_overloaded"
    upstream.plan(status=400, rpc_status="INVALID_ARGUMENT", message="Invalid value at 'tools[0]'.")
    response = _post(gemini_gateway, key)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid value at 'tools[0]'."


def test_a_rejected_key_is_a_neutral_502(tmp_path, fake_gemini, upstream):
    config = {"providers": [{"id": "gemini", "type": "gemini", "api_key": "wrong-key",
                             "base_url": fake_gemini.base_url}]}
    gateway = Gateway(tmp_path, config).start()
    try:
        _, key = gateway.new_key()
        response = _post(gateway, key)
    finally:
        gateway.stop()
    assert response.status_code == 502 and response.json()["error"]["code"] == "upstream_auth"
    assert "API key" not in response.json()["error"]["message"]


@pytest.mark.parametrize("failure", ["fail_mid_stream", "bare_error_mid_stream", "malformed_event", "cut_stream"])
def test_a_stream_that_breaks_ends_with_an_error_and_costs_nothing(gemini_gateway, upstream, key, failure):
    upstream.plan(text="one two three", **{failure: True})
    headers = {"Authorization": f"Bearer {key}"}
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "stream": True}
    with httpx.stream("POST", gemini_gateway.url + "/v1/chat/completions", headers=headers, json=body,
                      timeout=30) as response:
        request_id = response.headers["x-request-id"]
        events = response.read().decode()
    assert response.status_code == 200 and '"content":"one"' in events
    assert '"error"' in events.split("\n\n")[-3] and events.endswith("data: [DONE]\n\n")
    generation = wait_for(lambda: httpx.get(gemini_gateway.url + "/v1/generation", params={"id": request_id},
                                            headers=headers).json().get("data"))
    assert generation["status"] == "error" and generation["cost"] == 0


def test_a_blocked_prompt_is_a_content_filter_finish(gemini_gateway, upstream, key):
    upstream.plan(block_reason="SAFETY")
    reply = gemini_gateway.sdk(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert reply.choices[0].finish_reason == "content_filter" and reply.choices[0].message.content is None


# ------------------------------------------------------------------------------------ embeddings

EMBED_MODEL = "google/gemini-embedding-001"
EMBED_URL_PATH = "/v1beta/models/gemini-embedding-001:batchEmbedContents"


def _embed_request(texts, **extra) -> dict:
    return {"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": t}]}, **extra}
                         for t in texts]}


def test_the_fake_embeds_as_strictly_as_gemini(upstream):
    url = upstream.base_url + EMBED_URL_PATH
    assert httpx.post(url, json=_embed_request(["x"])).status_code == 403
    too_many = _embed_request(["x"] * 101)
    wrong_model = {"requests": [{"model": "models/gemini-embedding-2", "content": {"parts": [{"text": "x"}]}}]}
    for body in ({}, {"requests": []}, too_many, wrong_model, _embed_request([""]), _embed_request(["x"], dims=8),
                 _embed_request(["x"], outputDimensionality=EMBEDDING_SIZE + 1)):
        response = httpx.post(url, json=body, headers={"x-goog-api-key": API_KEY})
        assert response.status_code == 400 and response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "at most 100 requests" in check_batch_embed("gemini-embedding-001", too_many)
    assert upstream.requests == []


def test_sdk_embeddings_decode_to_the_vectors_gemini_sent_at_the_exact_price(gemini_gateway, upstream):
    account, key = gemini_gateway.new_key(usd="1")
    texts = ["héllo wörld 日本語", "a second, longer input text"]
    result = gemini_gateway.sdk(key).embeddings.create(model=EMBED_MODEL, input=texts)   # base64 on the wire
    assert upstream.paths == [EMBED_URL_PATH] and upstream.headers[0]["x-goog-api-key"] == API_KEY
    assert upstream.requests == [_embed_request(texts)]
    assert [d.index for d in result.data] == [0, 1] and result.model == EMBED_MODEL
    for item, text in zip(result.data, texts):
        assert item.embedding == pytest.approx(embedding_for(text, EMBEDDING_SIZE), rel=1e-6, abs=1e-7)
    tokens = sum(embedding_tokens(t) for t in texts)
    cost = tokens * catalog_prices(EMBED_MODEL)["prompt"]
    assert result.usage.prompt_tokens == result.usage.total_tokens == tokens
    assert Decimal(str(result.usage.model_extra["cost"])) == cost
    assert wait_for(lambda: gemini_gateway.balance(account) == 1 - cost, timeout=3)


def test_float_embeddings_with_dimensions_are_passed_on_exactly(gemini_gateway, upstream, key):
    result = gemini_gateway.sdk(key).embeddings.create(model=EMBED_MODEL, input="just one text", dimensions=768,
                                                       encoding_format="float")
    assert upstream.requests == [_embed_request(["just one text"], outputDimensionality=768)]
    assert result.data[0].embedding == embedding_for("just one text", 768)


def test_more_than_a_batch_of_inputs_is_split_and_kept_in_order(gemini_gateway, upstream, key):
    texts = [f"input number {n}" for n in range(250)]
    result = gemini_gateway.sdk(key).embeddings.create(model=EMBED_MODEL, input=texts, dimensions=4,
                                                       encoding_format="float")
    assert sorted(len(r["requests"]) for r in upstream.requests) == [50, 100, 100]
    assert [d.embedding for d in result.data] == [embedding_for(t, 4) for t in texts]
    assert result.usage.prompt_tokens == 3 * 250


def test_without_usage_metadata_the_estimate_is_billed(gemini_gateway, upstream, key):
    upstream.plan(embedding_usage=False)
    texts = ["four", "nine chars"]           # 4 and 10 characters: 1 and 3 tokens at four characters a token
    result = gemini_gateway.sdk(key).embeddings.create(model=EMBED_MODEL, input=texts, encoding_format="float")
    assert result.usage.prompt_tokens == 4
    assert Decimal(str(result.usage.model_extra["cost"])) == 4 * catalog_prices(EMBED_MODEL)["prompt"]


def test_token_id_inputs_are_a_400_that_never_reaches_gemini(gemini_gateway, upstream, key):
    for token_ids in ([1, 2, 3], [[1, 2], [3]]):
        with pytest.raises(openai.BadRequestError) as caught:
            gemini_gateway.sdk(key).embeddings.create(model=EMBED_MODEL, input=token_ids)
        assert caught.value.body["param"] == "input" and "token ids" in caught.value.body["message"]
    assert upstream.requests == []


def test_embedding_errors_arrive_with_the_right_status_and_cost_nothing(gemini_gateway, upstream):
    account, key = gemini_gateway.new_key(usd="1")
    upstream.plan(status=429, rpc_status="RESOURCE_EXHAUSTED", message="Quota exceeded.",
                  details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "5s"}])
    response = httpx.post(gemini_gateway.url + "/v1/embeddings", headers={"Authorization": f"Bearer {key}"},
                          json={"model": EMBED_MODEL, "input": ["a", "b"]}, timeout=30)
    assert response.status_code == 429 and response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "upstream_rate_limited"
    upstream.plan(status=400, rpc_status="INVALID_ARGUMENT", message="output_dimensionality must be at least 128")
    with pytest.raises(openai.BadRequestError) as caught:     # Gemini's own 400 keeps its message
        gemini_gateway.sdk(key).embeddings.create(model=EMBED_MODEL, input="x", dimensions=EMBEDDING_SIZE)
    assert "output_dimensionality" in caught.value.body["message"]
    assert gemini_gateway.cli("credits", "balance", "--account", account)["balance_usd"] == "1.000000"
