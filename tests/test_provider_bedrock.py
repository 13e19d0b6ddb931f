"""The `bedrock` provider: pure translation units, the SigV4 and event-stream machinery, and the
real gateway in front of a fake Bedrock that verifies signatures and speaks the binary stream."""

import asyncio
import base64
import dataclasses
from decimal import Decimal

import httpx
import openai
import orjson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from alltoken.config import ProviderConfig, load_settings
from alltoken.errors import UpstreamError
from alltoken.pricing import Usage
from alltoken.providers import image_fetch
from alltoken.providers.base import ChatCall
from alltoken.providers.bedrock.client import BedrockProvider, bedrock_error, upstream_error
from alltoken.providers.bedrock.translate import (
    JSON_OBJECT_INSTRUCTION,
    StreamTranslator,
    finish_reason,
    from_converse,
    https_image_urls,
    to_converse,
    usage_from_bedrock,
)
from alltoken.providers.transport import Transport
from alltoken.providers.upstream import all_or_first_error

from .fakes.bedrock_upstream import (
    ACCESS_KEY_ID,
    REGION,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
    FakeBedrock,
    ToolCall,
    embedding_for,
    embedding_tokens,
    encode_event,
    encode_exception,
    encode_frame,
    validate_converse,
    validate_titan,
    verify_signature,
)
from .harness import Gateway, wait_for
from .pricing_helpers import catalog_prices, expected_cost

NOVA = "amazon/nova-pro"
NOVA_UPSTREAM = "amazon.nova-pro-v1:0"
CLAUDE = "anthropic/claude-sonnet-4-5"
CLAUDE_UPSTREAM = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
CLAUDE_PRICE = {"prompt": "0.000003", "completion": "0.000015", "input_cache_read": "0.0000003",
                "input_cache_write": "0.00000375"}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake png").decode()
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                                                 "parameters": {"type": "object",
                                                                "properties": {"city": {"type": "string"}}}}}


def user(text):
    return {"role": "user", "content": text}


def convert(**body):
    return to_converse({"model": NOVA_UPSTREAM, **body}, {})


# ================================================================ request translation


def test_system_messages_merge_in_order_into_system_blocks():
    sent = convert(messages=[{"role": "system", "content": "Be brief."}, user("hi"),
                             {"role": "developer", "content": [{"type": "text", "text": "Use French."}]}])
    assert sent["system"] == [{"text": "Be brief."}, {"text": "Use French."}]
    assert sent["messages"] == [{"role": "user", "content": [{"text": "hi"}]}]


def test_empty_content_is_dropped_and_turns_of_one_role_merge():
    sent = convert(messages=[user("a"), user(""), {"role": "assistant", "content": ""}, user("b")])
    assert sent["messages"] == [{"role": "user", "content": [{"text": "a"}, {"text": "b"}]}]


def test_a_request_with_no_content_is_refused_clearly():
    with pytest.raises(UpstreamError) as caught:
        convert(messages=[{"role": "system", "content": "only a system prompt"}])
    assert caught.value.status == 400 and caught.value.param == "messages"


def test_unicode_and_very_long_text_pass_unchanged():
    text = "héllo 你好 🎉 " * 20000
    sent = convert(messages=[user(text)])
    assert orjson.loads(orjson.dumps(sent))["messages"][0]["content"][0]["text"] == text


def test_inference_settings_map_to_inference_config():
    sent = convert(messages=[user("x")], max_tokens=50, temperature=0.2, top_p=0.9, stop="END")
    assert sent["inferenceConfig"] == {"maxTokens": 50, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]}
    sent = convert(messages=[user("x")], max_completion_tokens=70, max_tokens=5, stop=["a", "b"])
    assert sent["inferenceConfig"] == {"maxTokens": 70, "stopSequences": ["a", "b"]}
    assert "inferenceConfig" not in convert(messages=[user("x")])


def test_image_data_urls_become_image_blocks_with_bytes():
    parts = [{"type": "text", "text": "what is it?"},
             {"type": "image_url", "image_url": {"url": f"data:image/jpg;base64,{PNG}", "detail": "high"}},
             {"type": "image_url", "image_url": {"url": f"data:image/webp;base64,{PNG}"}}]
    blocks = convert(messages=[{"role": "user", "content": parts}])["messages"][0]["content"]
    assert blocks == [{"text": "what is it?"}, {"image": {"format": "jpeg", "source": {"bytes": PNG}}},
                      {"image": {"format": "webp", "source": {"bytes": PNG}}}]


@pytest.mark.parametrize("url,reason", [
    (f"data:image/bmp;base64,{PNG}", "png, jpeg, gif or webp"),
    ("data:image/png;base64,not*base64", "not valid base64"),
    ("http://example.com/cat.png", "data URLs or https URLs"),
    ("https://example.com/cat.png", "data URLs or https URLs"),      # not fetched by the caller
])
def test_images_bedrock_cannot_take_are_refused_with_a_400(url, reason):
    with pytest.raises(UpstreamError) as caught:
        convert(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}])
    assert caught.value.status == 400 and reason in caught.value.message


def test_fetched_https_images_are_inlined_and_listed_once():
    body = {"model": NOVA_UPSTREAM, "messages": [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://img.example/a.gif"}},
                                     {"type": "image_url", "image_url": {"url": "https://img.example/a.gif"}}]}]}
    assert https_image_urls(body) == ["https://img.example/a.gif"]
    blocks = to_converse(body, {"https://img.example/a.gif": ("image/gif", b"GIF89a")})["messages"][0]["content"]
    assert blocks[0] == {"image": {"format": "gif", "source": {"bytes": base64.b64encode(b"GIF89a").decode()}}}


def test_tools_and_tool_choice_map_to_tool_config():
    strict = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}, "strict": True}}
    sent = convert(messages=[user("x")], tools=[WEATHER_TOOL, strict], tool_choice="required")
    assert sent["toolConfig"] == {"tools": [
        {"toolSpec": {"name": "get_weather", "description": "Weather now",
                      "inputSchema": {"json": WEATHER_TOOL["function"]["parameters"]}}},
        {"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}, "strict": True}}],
        "toolChoice": {"any": {}}}
    assert convert(messages=[user("x")], tools=[WEATHER_TOOL], tool_choice="auto")["toolConfig"]["toolChoice"] == \
        {"auto": {}}
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert convert(messages=[user("x")], tools=[WEATHER_TOOL], tool_choice=named)["toolConfig"]["toolChoice"] == \
        {"tool": {"name": "get_weather"}}
    assert "toolChoice" not in convert(messages=[user("x")], tools=[WEATHER_TOOL])["toolConfig"]
    assert "toolConfig" not in convert(messages=[user("x")], tools=[WEATHER_TOOL], tool_choice="none")


def _tool_history(call_id="call_1", result_id="call_1", arguments='{"city":"Paris"}'):
    return [user("weather?"),
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": arguments}}]},
            {"role": "tool", "tool_call_id": result_id, "content": '{"temp": 21}'}]


def test_tool_calls_and_results_become_tool_use_and_tool_result_blocks():
    sent = convert(messages=_tool_history(), tools=[WEATHER_TOOL])
    assert sent["messages"][1] == {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}}]}
    assert sent["messages"][2] == {"role": "user", "content": [
        {"toolResult": {"toolUseId": "call_1", "content": [{"text": '{"temp": 21}'}]}}]}
    assert validate_converse(sent) is None


def test_tool_history_keeps_a_tool_config_even_with_tool_choice_none_or_no_tools():
    kept = convert(messages=_tool_history(), tools=[WEATHER_TOOL], tool_choice="none")
    offered = convert(messages=[user("x")], tools=[WEATHER_TOOL])["toolConfig"]["tools"]
    assert kept["toolConfig"] == {"tools": offered}
    stand_in = convert(messages=_tool_history())
    assert stand_in["toolConfig"] == {"tools": [{"toolSpec": {"name": "get_weather",
                                                              "inputSchema": {"json": {"type": "object"}}}}]}
    assert validate_converse(kept) is None and validate_converse(stand_in) is None


def test_parallel_tool_results_merge_into_one_user_turn_and_results_may_carry_images():
    messages = [user("two cities"),
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"A"}'}},
                    {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]},
                {"role": "tool", "tool_call_id": "a", "content": "sunny"},
                {"role": "tool", "tool_call_id": "b", "content": [
                    {"type": "text", "text": "radar:"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]},
                user("and tomorrow?")]
    sent = convert(messages=messages, tools=[WEATHER_TOOL])
    assert [turn["role"] for turn in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][1]["content"][0] == {"text": "Checking."}
    assert sent["messages"][1]["content"][2]["toolUse"]["input"] == {}
    results = sent["messages"][2]["content"]
    assert [block.get("toolResult", {}).get("toolUseId") for block in results] == ["a", "b", None]
    assert results[1]["toolResult"]["content"][1] == {"image": {"format": "png", "source": {"bytes": PNG}}}
    assert results[2] == {"text": "and tomorrow?"}
    assert validate_converse(sent) is None


def test_missing_tool_call_ids_get_stable_ids_that_results_answer_in_order():
    messages = [user("x"), {"role": "assistant", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": "{}"}},
        {"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "", "content": "one"},
        {"role": "tool", "tool_call_id": "", "content": "two"}]
    first, second = convert(messages=messages), convert(messages=messages)
    assert first == second
    calls = [block["toolUse"]["toolUseId"] for block in first["messages"][1]["content"]]
    results = [block["toolResult"]["toolUseId"] for block in first["messages"][2]["content"]]
    assert calls == results == ["tooluse_m1c0", "tooluse_m1c1"]


def test_foreign_tool_ids_are_made_safe_the_same_way_on_both_sides():
    sent = convert(messages=_tool_history(call_id="call:1/x", result_id="call:1/x"), tools=[WEATHER_TOOL])
    assert sent["messages"][1]["content"][0]["toolUse"]["toolUseId"] == "call_1_x"
    assert sent["messages"][2]["content"][0]["toolResult"]["toolUseId"] == "call_1_x"


def test_tool_arguments_that_are_not_json_are_a_400():
    with pytest.raises(UpstreamError) as caught:
        convert(messages=_tool_history(arguments="{not json"), tools=[WEATHER_TOOL])
    assert caught.value.status == 400 and "arguments" in caught.value.param


def test_structured_output_and_json_mode():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    sent = convert(messages=[user("x")], response_format={"type": "json_schema", "json_schema": {
        "name": "answer", "schema": schema, "strict": True}})
    definition = sent["outputConfig"]["textFormat"]["structure"]["jsonSchema"]
    assert sent["outputConfig"]["textFormat"]["type"] == "json_schema"
    assert orjson.loads(definition["schema"]) == schema and definition["name"] == "answer"
    json_mode = convert(messages=[{"role": "system", "content": "s"}, user("x")],
                        response_format={"type": "json_object"})
    assert json_mode["system"] == [{"text": "s"}, {"text": JSON_OBJECT_INSTRUCTION}]
    assert "outputConfig" not in json_mode


@pytest.mark.parametrize("model,effort,expected", [
    (CLAUDE_UPSTREAM, "medium", {"thinking": {"type": "enabled", "budget_tokens": 4096}}),
    ("amazon.nova-2-lite-v1:0", "high", {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}}),
    ("amazon.nova-pro-v1:0", "high", None),
    (CLAUDE_UPSTREAM, "none", None),
])
def test_reasoning_effort_maps_to_each_familys_switch(model, effort, expected):
    sent = to_converse({"model": model, "messages": [user("x")], "reasoning_effort": effort}, {})
    assert sent.get("additionalModelRequestFields") == expected


def test_more_than_one_choice_is_refused():
    with pytest.raises(UpstreamError) as caught:
        convert(messages=[user("x")], n=2)
    assert caught.value.status == 400 and caught.value.param == "n"


# ================================================================ response translation


@pytest.mark.parametrize("stop_reason,expected", [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
    ("guardrail_intervened", "content_filter"), ("content_filtered", "content_filter"),
    ("model_context_window_exceeded", "length"), ("something_new", "stop"), (None, "stop"),
])
def test_stop_reasons_map_to_finish_reasons(stop_reason, expected):
    assert finish_reason(stop_reason) == expected


def test_usage_adds_cache_reads_and_writes_to_the_prompt():
    usage = usage_from_bedrock({"inputTokens": 10, "outputTokens": 5, "totalTokens": 1215,
                                "cacheReadInputTokens": 1000, "cacheWriteInputTokens": 200})
    assert usage == Usage(prompt_tokens=1210, completion_tokens=5, cached_tokens=1000, cache_write_tokens=200)
    assert usage_from_bedrock({"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}) == \
        Usage(prompt_tokens=3, completion_tokens=4)


def test_converse_response_with_reasoning_text_and_parallel_tool_calls():
    data = {"output": {"message": {"role": "assistant", "content": [
        {"reasoningContent": {"reasoningText": {"text": "thinking…", "signature": "sig"}}},
        {"reasoningContent": {"redactedContent": "b3BhcXVl"}},
        {"text": "Let me check."},
        {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
        {"toolUse": {"toolUseId": "tooluse_2", "name": "get_weather", "input": {"city": "Köln"}}}]}},
        "stopReason": "tool_use", "usage": {"inputTokens": 7, "outputTokens": 30, "totalTokens": 37},
        "metrics": {"latencyMs": 1}}
    body, usage = from_converse(data, "m", "chatcmpl-1")
    message = body["choices"][0]["message"]
    assert message["content"] == "Let me check." and message["reasoning_content"] == "thinking…"
    assert [c["function"]["arguments"] for c in message["tool_calls"]] == ['{"city":"Paris"}', '{"city":"Köln"}']
    assert [c["id"] for c in message["tool_calls"]] == ["tooluse_1", "tooluse_2"]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["usage"]["total_tokens"] == 37 and usage.completion_tokens == 30


def test_a_tool_only_answer_has_null_content():
    data = {"output": {"message": {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "t", "name": "f", "input": {}}}]}}, "stopReason": "tool_use",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}}
    assert from_converse(data, "m", "c")[0]["choices"][0]["message"]["content"] is None


def _stream(events):
    translator = StreamTranslator("m", "chatcmpl-1")
    chunks = [chunk for event_type, payload in events for chunk in translator.feed(event_type, payload)]
    return translator, chunks


def test_stream_events_become_openai_chunks_keyed_by_block_index():
    translator, chunks = _stream([
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "hmm"}}}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "s"}}}),
        ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Hi"}}),
        ("contentBlockStart", {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "t2", "name": "f"}}}),
        ("contentBlockStart", {"contentBlockIndex": 3, "start": {"toolUse": {"toolUseId": "t3", "name": "g"}}}),
        ("contentBlockDelta", {"contentBlockIndex": 3, "delta": {"toolUse": {"input": "{\"b\":"}}}),
        ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{}"}}}),
        ("contentBlockDelta", {"contentBlockIndex": 3, "delta": {"toolUse": {"input": "1}"}}}),
        ("contentBlockStop", {"contentBlockIndex": 3}),
        ("somethingNew", {"x": 1}),
        ("messageStop", {"stopReason": "tool_use"}),
        ("metadata", {"usage": {"inputTokens": 5, "outputTokens": 6, "totalTokens": 11, "cacheReadInputTokens": 2},
                      "metrics": {"latencyMs": 3}})])
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[1] == {"reasoning_content": "hmm"} and deltas[2] == {"content": "Hi"}
    assert deltas[3]["tool_calls"] == [{"index": 0, "id": "t2", "type": "function",
                                        "function": {"name": "f", "arguments": ""}}]
    assert deltas[4]["tool_calls"][0]["index"] == 1 and deltas[4]["tool_calls"][0]["id"] == "t3"
    assert [d["tool_calls"][0] for d in deltas[5:8]] == [
        {"index": 1, "function": {"arguments": "{\"b\":"}}, {"index": 0, "function": {"arguments": "{}"}},
        {"index": 1, "function": {"arguments": "1}"}}]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 7
    assert chunks[-1]["usage"]["prompt_tokens_details"]["cached_tokens"] == 2
    assert translator.finished and translator.usage.total_tokens == 13


def test_tool_input_for_a_block_never_started_is_malformed():
    with pytest.raises(UpstreamError) as caught:
        _stream([("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{}"}}})])
    assert caught.value.code == "upstream_malformed"


# ================================================================ errors


@pytest.mark.parametrize("name,status,ours,code,retryable", [
    ("ValidationException", 400, 400, "ValidationException", False),
    ("ResourceNotFoundException", 404, 404, "ResourceNotFoundException", False),
    ("AccessDeniedException", 403, 502, "upstream_auth", False),
    ("UnrecognizedClientException", 403, 502, "upstream_auth", False),
    ("ThrottlingException", 429, 429, "upstream_rate_limited", True),
    ("ServiceQuotaExceededException", 400, 429, "upstream_rate_limited", True),
    ("ModelNotReadyException", 429, 503, "upstream_model_not_ready", True),
    ("ServiceUnavailableException", 503, 503, "upstream_overloaded", True),
    ("ModelTimeoutException", 408, 504, "upstream_timeout", True),
    ("ModelErrorException", 424, 502, "upstream_error", True),
    ("InternalServerException", 500, 502, "upstream_error", True),
    ("", 413, 413, None, False),
])
def test_bedrock_http_errors_map_to_ours(name, status, ours, code, retryable):
    headers = {"x-amzn-ErrorType": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"} if name else {}
    error = upstream_error("bedrock", status, b'{"message":"upstream words"}', headers)
    assert (error.status, error.code, error.retryable) == (ours, code, retryable)
    if ours in (400, 404, 413):
        assert error.message == "upstream words"
    else:
        assert "upstream words" not in error.message


def test_the_error_name_may_come_from_the_body_and_retry_after_is_kept():
    error = upstream_error("bedrock", 429, b'{"__type":"com.amazon.coral#ThrottlingException","Message":"slow"}',
                           {"retry-after": "3"})
    assert error.status == 429 and error.retry_after == 3.0


def test_mid_stream_exceptions_say_so():
    error = bedrock_error("bedrock", "ModelStreamErrorException", "boom", mid_stream=True)
    assert error.status == 502 and error.code == "upstream_stream_error" and "mid-stream" in error.message


# ================================================================ SigV4 and event-stream machinery


def _signed(path: str, body: bytes, secret=SECRET_ACCESS_KEY, host="127.0.0.1:9") -> dict:
    request = AWSRequest(method="POST", url=f"http://{host}{path}", data=body,
                         headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(ACCESS_KEY_ID, secret), "bedrock", REGION).add_auth(request)
    return {**dict(request.headers.items()), "Host": host}


def test_fake_accepts_a_botocore_signature_and_rejects_a_wrong_key_or_a_tampered_body():
    path, body = "/model/amazon.nova-pro-v1%3A0/converse", b'{"messages":[]}'
    assert verify_signature("POST", path, _signed(path, body), body) is None
    assert verify_signature("POST", path, _signed(path, body, secret="wrong"), body)[0] == "InvalidSignatureException"
    assert verify_signature("POST", path, _signed(path, body), body + b" ")[0] == "InvalidSignatureException"
    assert verify_signature("POST", path, {}, body)[0] == "MissingAuthenticationTokenException"


def test_a_model_id_sent_without_percent_encoding_fails_the_signature_as_on_aws():
    body = b"{}"
    headers = _signed("/model/amazon.nova-pro-v1%3A0/converse", body)
    assert verify_signature("POST", "/model/amazon.nova-pro-v1:0/converse", headers, body) is not None


def test_provider_signs_with_the_bedrock_signing_name_and_encodes_the_model_id():
    provider = BedrockProvider(_config("https://bedrock-runtime.us-east-1.amazonaws.com"), Transport())
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.nova-pro-v1%3A0/converse"
    headers = provider._signed_headers(url, b"{}", "application/json")
    assert f"/{REGION}/bedrock/aws4_request" in headers["Authorization"]
    assert verify_signature("POST", "/model/amazon.nova-pro-v1%3A0/converse",
                            {**headers, "Host": "bedrock-runtime.us-east-1.amazonaws.com"}, b"{}") is None


def test_provider_needs_a_region_and_keys():
    with pytest.raises(ValueError, match="region"):
        BedrockProvider(ProviderConfig(id="b", type="bedrock", aws_access_key_id="a", aws_secret_access_key="s"),
                        Transport())
    with pytest.raises(ValueError, match="aws_access_key_id"):
        BedrockProvider(ProviderConfig(id="b", type="bedrock", region=REGION), Transport())


def test_test_encoder_frames_decode_with_botocore():
    stream = encode_event("messageStart", {"role": "assistant"}) + encode_exception("throttlingException", "slow")
    frames = EventStreamBuffer()
    frames.add_data(stream[:5])
    assert list(frames) == []
    frames.add_data(stream[5:])
    first, second = list(frames)
    assert first.headers[":event-type"] == "messageStart" and orjson.loads(first.payload)["role"] == "assistant"
    assert second.headers == {":message-type": "exception", ":exception-type": "throttlingException",
                              ":content-type": "application/json"}


def test_a_corrupted_frame_fails_botocores_checksum():
    frame = bytearray(encode_frame({":message-type": "event"}, b"{}"))
    frame[-6] ^= 1
    frames = EventStreamBuffer()
    frames.add_data(bytes(frame))
    with pytest.raises(ChecksumMismatch):
        list(frames)


# ================================================================ end to end through the gateway


def _config(base_url: str, secret: str = SECRET_ACCESS_KEY, **options) -> ProviderConfig:
    return ProviderConfig(id="bedrock-us", type="bedrock", region=REGION, aws_access_key_id=ACCESS_KEY_ID,
                          aws_secret_access_key=secret, base_url=base_url, options=options)


def _gateway_config(fake: FakeBedrock, secret: str = SECRET_ACCESS_KEY) -> dict:
    return {"providers": [{"id": "bedrock-us", "type": "bedrock", "region": REGION,
                           "aws_access_key_id": ACCESS_KEY_ID, "aws_secret_access_key": secret,
                           "base_url": fake.base_url}],
            "models": [{"id": CLAUDE, "routes": [{"provider": "bedrock-us", "model": CLAUDE_UPSTREAM,
                                                  "pricing": CLAUDE_PRICE}]}]}


@pytest.fixture(scope="module")
def fake_bedrock():
    fake = FakeBedrock().start()
    yield fake
    fake.stop()


@pytest.fixture
def bedrock(fake_bedrock):
    fake_bedrock.reset()
    return fake_bedrock


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_bedrock):
    running = Gateway(tmp_path_factory.mktemp("bedrock"), _gateway_config(fake_bedrock)).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def key(gateway):
    """One funded key for the tests that do not watch a balance (each new account costs CLI runs)."""
    return gateway.new_key(usd="50")[1]


@pytest.mark.parametrize("stream", [False, True])
def test_completion_is_signed_translated_and_billed_at_the_catalog_price(gateway, bedrock, stream):
    account, key = gateway.new_key(usd="2")
    bedrock.plan(input_tokens=300, output_tokens=120, cache_read=1000, cache_write=50)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "system", "content": "Be kind."}, user("hi")]
    client = gateway.sdk(key)
    if stream:
        chunks = list(client.chat.completions.create(model=NOVA, messages=messages, stream=True, max_tokens=200))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        usage, finish = chunks[-1].usage, [c.choices[0].finish_reason for c in chunks if c.choices][-1]
    else:
        reply = client.chat.completions.create(model=NOVA, messages=messages, max_tokens=200)
        text, usage, finish = reply.choices[0].message.content, reply.usage, reply.choices[0].finish_reason
    assert text == bedrock.default.text and finish == "stop"
    assert bedrock.model_ids == [NOVA_UPSTREAM]
    assert bedrock.operations == ["converse-stream" if stream else "converse"]
    assert bedrock.requests[0]["system"] == [{"text": "Be brief."}, {"text": "Be kind."}]
    assert bedrock.requests[0]["inferenceConfig"] == {"maxTokens": 200}
    assert usage.prompt_tokens == 1350 and usage.completion_tokens == 120
    assert usage.prompt_tokens_details.cached_tokens == 1000
    expected = expected_cost(NOVA, prompt=1350, completion=120, cached=1000, cache_write=50)
    assert Decimal(str(usage.model_extra["cost"])) == expected
    assert wait_for(lambda: gateway.balance(account) == Decimal(2) - expected, timeout=3)


def test_tool_call_round_trip(gateway, bedrock, key):
    client = gateway.sdk(key)
    messages = [user("Weather in Paris?")]
    first = client.chat.completions.create(model=NOVA, messages=messages, tools=[WEATHER_TOOL], tool_choice="auto")
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.id, call.function.name, call.function.arguments) == ("tooluse_fake1", "get_weather",
                                                                      '{"city":"Paris"}')
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "21 degrees"}]
    final = client.chat.completions.create(model=NOVA, messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].message.content == bedrock.default.text and final.choices[0].finish_reason == "stop"
    sent = bedrock.requests[-1]
    assert sent["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
    assert sent["messages"][1]["content"] == [{"toolUse": {"toolUseId": "tooluse_fake1", "name": "get_weather",
                                                           "input": {"city": "Paris"}}}]
    assert sent["messages"][2]["content"] == [{"toolResult": {"toolUseId": "tooluse_fake1",
                                                              "content": [{"text": "21 degrees"}]}}]


def test_streamed_parallel_tool_calls(gateway, bedrock, key):
    bedrock.plan(tool_calls=[ToolCall("get_weather", {"city": "Paris"}, "tooluse_a"),
                             ToolCall("get_weather", {"city": "東京"}, "tooluse_b")])
    chunks = list(gateway.sdk(key).chat.completions.create(
        model=NOVA, messages=[user("two cities")], tools=[WEATHER_TOOL], tool_choice="required", stream=True))
    calls: dict[int, dict] = {}
    for chunk in chunks:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = calls.setdefault(delta.index, {"id": delta.id, "name": delta.function.name, "arguments": ""})
            entry["arguments"] += delta.function.arguments or ""
    assert calls == {0: {"id": "tooluse_a", "name": "get_weather", "arguments": '{"city":"Paris"}'},
                     1: {"id": "tooluse_b", "name": "get_weather", "arguments": '{"city":"東京"}'}}
    assert bedrock.requests[0]["toolConfig"]["toolChoice"] == {"any": {}}


def test_an_image_arrives_as_a_native_image_block(gateway, bedrock, key):
    content = [{"type": "text", "text": "what is this?"},
               {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "low"}}]
    gateway.sdk(key).chat.completions.create(model=NOVA, messages=[{"role": "user", "content": content}])
    assert bedrock.requests[0]["messages"][0]["content"] == [
        {"text": "what is this?"}, {"image": {"format": "png", "source": {"bytes": PNG}}}]


def test_an_https_image_on_a_private_address_is_refused_before_bedrock(gateway, bedrock, key):
    content = [{"type": "image_url", "image_url": {"url": "https://127.0.0.1/cat.png"}}]
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.sdk(key).chat.completions.create(model=NOVA, messages=[{"role": "user", "content": content}])
    assert caught.value.body["code"] == "invalid_image_url"
    assert bedrock.requests == []


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_comes_back_as_reasoning_content(gateway, bedrock, key, stream):
    bedrock.plan(reasoning="Let me think.", text="42")
    call = dict(model=CLAUDE, messages=[user("meaning of life?")], reasoning_effort="high", max_tokens=20000)
    if stream:
        chunks = list(gateway.sdk(key).chat.completions.create(**call, stream=True))
        deltas = [c.choices[0].delta for c in chunks if c.choices]
        reasoning = "".join((d.model_extra or {}).get("reasoning_content") or "" for d in deltas)
        text = "".join(d.content or "" for d in deltas)
    else:
        message = gateway.sdk(key).chat.completions.create(**call).choices[0].message
        reasoning, text = message.model_extra["reasoning_content"], message.content
    assert (reasoning, text) == ("Let me think.", "42")
    assert bedrock.model_ids == [CLAUDE_UPSTREAM]
    assert bedrock.requests[0]["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 16384}}


@pytest.mark.parametrize("exception,status,code", [
    ("ThrottlingException", 429, "upstream_rate_limited"),
    ("ServiceUnavailableException", 503, "upstream_overloaded"),
    ("ModelNotReadyException", 503, "upstream_model_not_ready"),
    ("AccessDeniedException", 502, "upstream_auth"),
    ("InternalServerException", 502, "upstream_error"),
    ("ValidationException", 400, "ValidationException"),
])
@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_errors_arrive_with_the_right_status_and_shape(gateway, bedrock, key, exception, status, code,
                                                               stream):
    bedrock.plan(error=exception, error_message="The model said no.")
    response = httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                          json={"model": NOVA, "messages": [user("x")], "stream": stream}, timeout=30)
    error = response.json()["error"]
    assert response.status_code == status and error["code"] == code
    assert ("The model said no." in error["message"]) == (status == 400)
    assert response.headers["x-alltoken-provider"] == "bedrock-us"


def test_an_exception_frame_before_any_event_is_an_http_error(gateway, bedrock, key):
    bedrock.plan(exception_first="throttlingException")
    with pytest.raises(openai.RateLimitError) as caught:
        list(gateway.sdk(key).chat.completions.create(model=NOVA, messages=[user("x")], stream=True))
    assert caught.value.body["code"] == "upstream_rate_limited"


@pytest.mark.parametrize("failure", [{"stream_exception": "modelStreamErrorException"}, {"corrupt_frame": True},
                                     {"end_early": True}])
def test_a_failure_mid_stream_ends_with_an_error_event_and_costs_nothing(gateway, bedrock, failure):
    account, key = gateway.new_key(usd="1")
    bedrock.plan(**failure)
    with pytest.raises(openai.APIError):
        list(gateway.sdk(key).chat.completions.create(model=NOVA, messages=[user("x")], stream=True))
    assert gateway.balance(account) == Decimal(1)


def test_bedrock_rejecting_a_parameter_keeps_its_message(gateway, bedrock, key):
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.sdk(key).chat.completions.create(model=NOVA, messages=[user("x")], temperature=1.5)
    assert caught.value.body["message"] == "inferenceConfig.temperature must be between 0 and 1"


# ================================================================ provider in process


async def test_a_wrong_secret_key_fails_the_signature_and_is_a_neutral_502(bedrock):
    transport = Transport()
    try:
        provider = BedrockProvider(_config(bedrock.base_url, secret="not-the-secret"), transport)
        with pytest.raises(UpstreamError) as caught:
            await provider.chat(ChatCall({"model": NOVA_UPSTREAM, "messages": [user("x")]}, "req-0"))
    finally:
        await transport.close()
    assert caught.value.status == 502 and caught.value.code == "upstream_auth"
    assert "signature" not in caught.value.message and bedrock.requests == []


async def test_https_images_are_fetched_and_sent_as_bytes(bedrock, monkeypatch):
    fetched = []

    async def fake_fetch(session, url, **limits):
        fetched.append(url)
        return "image/jpeg", b"\xff\xd8jpeg bytes"

    monkeypatch.setattr(image_fetch, "fetch_image", fake_fetch)
    transport = Transport()
    try:
        provider = BedrockProvider(_config(bedrock.base_url), transport)
        content = [{"type": "image_url", "image_url": {"url": "https://img.example/cat.jpg"}}]
        await provider.chat(ChatCall({"model": NOVA_UPSTREAM, "messages": [{"role": "user", "content": content}]},
                                     "req-1"))
    finally:
        await transport.close()
    assert fetched == ["https://img.example/cat.jpg"]
    assert bedrock.requests[0]["messages"][0]["content"] == [
        {"image": {"format": "jpeg", "source": {"bytes": base64.b64encode(b"\xff\xd8jpeg bytes").decode()}}}]


async def test_a_session_token_from_options_is_signed_and_sent(bedrock):
    transport = Transport()
    try:
        provider = BedrockProvider(_config(bedrock.base_url, aws_session_token=SESSION_TOKEN), transport)
        chunks = [c async for c in provider.chat_stream(ChatCall({"model": NOVA_UPSTREAM, "messages": [user("x")]},
                                                                 "req-2"))]
    finally:
        await transport.close()
    assert bedrock.headers[0]["X-Amz-Security-Token"] == SESSION_TOKEN
    assert chunks[-1]["usage"]["total_tokens"] == 34


async def test_temporary_credentials_from_the_environment_sign_with_their_session_token(bedrock, tmp_path,
                                                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                                  "AWS_SESSION_TOKEN": SESSION_TOKEN, "AWS_REGION": REGION})
    config = dataclasses.replace(settings.providers[0], base_url=bedrock.base_url)
    transport = Transport()
    try:
        result = await BedrockProvider(config, transport).chat(
            ChatCall({"model": NOVA_UPSTREAM, "messages": [user("x")]}, "req-env"))
    finally:
        await transport.close()
    assert bedrock.headers[0]["X-Amz-Security-Token"] == SESSION_TOKEN
    assert result.body["choices"][0]["message"]["content"] == bedrock.default.text


# ================================================================ embeddings: Titan Text Embeddings V2 (InvokeModel)


TITAN = "amazon/titan-embed-text-v2"
TITAN_UPSTREAM = "amazon.titan-embed-text-v2:0"


def _embed(gateway, key, **body):
    return httpx.post(gateway.url + "/v1/embeddings", headers={"Authorization": f"Bearer {key}"},
                      json={"model": TITAN, **body}, timeout=30)


def test_the_fake_checks_titan_bodies_as_bedrock_does():
    for model, body in [(TITAN_UPSTREAM, {}), (TITAN_UPSTREAM, {"inputText": "  "}),
                        (TITAN_UPSTREAM, {"inputText": "x" * 50_001}), (TITAN_UPSTREAM, {"inputText": "x", "dims": 8}),
                        (TITAN_UPSTREAM, {"inputText": "x", "dimensions": 300}),
                        ("amazon.titan-embed-text-v1", {"inputText": "x", "dimensions": 256}),
                        (NOVA_UPSTREAM, {"inputText": "x"})]:
        assert validate_titan(model, body), (model, body)
    assert validate_titan(TITAN_UPSTREAM, {"inputText": "x", "dimensions": 256, "normalize": True}) is None


def test_sdk_embeddings_are_signed_invocations_decoded_to_titans_vectors_at_the_exact_price(gateway, bedrock):
    account, key = gateway.new_key(usd="1")
    texts = ["first text", "the second text, in ünïcode 日本語", "3"]
    result = gateway.sdk(key).embeddings.create(model=TITAN, input=texts)     # base64 on the wire
    assert sorted(b["inputText"] for b in bedrock.requests) == sorted(texts)  # concurrent: any arrival order
    assert all(b == {"inputText": b["inputText"]} for b in bedrock.requests)
    assert bedrock.model_ids == [TITAN_UPSTREAM] * 3 and bedrock.operations == ["invoke"] * 3
    assert [d.index for d in result.data] == [0, 1, 2] and result.model == TITAN
    for item, text in zip(result.data, texts):
        assert item.embedding == pytest.approx(embedding_for(text, 1024), rel=1e-6, abs=1e-7)
    tokens = sum(embedding_tokens(t) for t in texts)
    cost = tokens * catalog_prices(TITAN)["prompt"]
    assert result.usage.prompt_tokens == result.usage.total_tokens == tokens
    assert Decimal(str(result.usage.model_extra["cost"])) == cost
    assert wait_for(lambda: gateway.balance(account) == 1 - cost, timeout=3)


def test_float_embeddings_with_dimensions_keep_input_order_across_many_calls(gateway, bedrock, key):
    texts = [f"text number {n}" for n in range(40)]
    result = gateway.sdk(key).embeddings.create(model=TITAN, input=texts, dimensions=256, encoding_format="float")
    assert sorted(bedrock.requests, key=lambda b: int(b["inputText"].split()[-1])) == [
        {"inputText": t, "dimensions": 256} for t in texts]
    assert [d.embedding for d in result.data] == [embedding_for(t, 256) for t in texts]
    assert result.usage.prompt_tokens == 3 * 40


@pytest.mark.parametrize("body,param", [({"input": "x", "dimensions": 300}, "dimensions"),
                                        ({"input": [1, 2, 3]}, "input"), ({"input": [[1, 2], [3]]}, "input")])
def test_titan_refusals_are_400s_that_never_reach_bedrock(gateway, bedrock, key, body, param):
    response = _embed(gateway, key, **body)
    assert response.status_code == 400 and response.json()["error"]["param"] == param
    assert bedrock.requests == []


def test_a_throttled_invocation_fails_the_request_with_a_429_that_costs_nothing(gateway, bedrock):
    account, key = gateway.new_key(usd="1")
    bedrock.plan(error="ThrottlingException", error_message="Too many requests, please wait before trying again.")
    response = _embed(gateway, key, input=["one", "two", "three"])
    assert response.status_code == 429 and response.json()["error"]["code"] == "upstream_rate_limited"
    assert response.headers["x-alltoken-provider"] == "bedrock-us"
    assert gateway.balance(account) == Decimal(1)


async def test_invocations_run_a_bounded_number_at_a_time_in_order_and_stop_at_the_first_failure():
    in_flight, most, started = 0, 0, []

    async def invocation(n):
        nonlocal in_flight, most
        started.append(n)
        if n < 0:
            raise UpstreamError(429, "slow down")
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.001 * (n % 3))
        in_flight -= 1
        return n

    assert await all_or_first_error([invocation(n) for n in range(10)], 3) == list(range(10)) and most == 3
    started.clear()
    with pytest.raises(UpstreamError) as caught:
        await all_or_first_error([invocation(n) for n in (-1, 1, 2, 3)], 1)
    assert caught.value.status == 429 and started[0] == -1 and 3 not in started    # the rest were cancelled
