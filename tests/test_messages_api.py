"""POST /v1/messages with the official anthropic SDK, for a model that is not Anthropic's."""

import anthropic
import httpx
import pytest

from alltoken.errors import InvalidRequest
from alltoken.http.errors import shape
from alltoken.http.v1.messages_translate import to_chat_request, to_message
from alltoken.http.v1.validation import validate_messages
from alltoken.pricing import Usage

MODEL = "alltoken/demo"
TOOLS = [{"name": "get_weather", "description": "Weather now", "input_schema": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


def test_message_with_the_anthropic_sdk(demo_gateway):
    _, key = demo_gateway.new_key()
    message = demo_gateway.anthropic_sdk(key).messages.create(
        model=MODEL, max_tokens=200, system="be brief", messages=[{"role": "user", "content": "hello claude api"}])
    assert message.type == "message" and message.role == "assistant" and message.model == MODEL
    assert "hello claude api" in message.content[0].text and message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.id.startswith("msg_gen-")


def test_stream_with_the_anthropic_sdk_matches_the_message(demo_gateway):
    _, key = demo_gateway.new_key()
    client = demo_gateway.anthropic_sdk(key)
    request = dict(model=MODEL, max_tokens=200, messages=[{"role": "user", "content": "stream to me"}])
    plain = client.messages.create(**request)
    with client.messages.stream(**request) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(texts) > 3 and "".join(texts) == plain.content[0].text
    assert final.content[0].text == plain.content[0].text and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert final.usage.input_tokens == plain.usage.input_tokens


@pytest.mark.parametrize("stream", [False, True])
def test_tool_round_trip_with_the_anthropic_sdk(demo_gateway, stream):
    _, key = demo_gateway.new_key()
    client = demo_gateway.anthropic_sdk(key)
    messages = [{"role": "user", "content": "weather in Paris?"}]
    if stream:
        with client.messages.stream(model=MODEL, max_tokens=200, tools=TOOLS, messages=messages) as events:
            first = events.get_final_message()
    else:
        first = client.messages.create(model=MODEL, max_tokens=200, tools=TOOLS, messages=messages)
    use = next(block for block in first.content if block.type == "tool_use")
    assert first.stop_reason == "tool_use" and use.name == "get_weather" and use.input == {"city": "demo"}
    messages += [{"role": "assistant", "content": [b.model_dump() for b in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]}]
    final = client.messages.create(model=MODEL, max_tokens=200, tools=TOOLS, messages=messages)
    assert "sunny" in final.content[0].text and final.stop_reason == "end_turn"


def test_errors_come_in_anthropic_shape(demo_gateway):
    _, key = demo_gateway.new_key()
    with pytest.raises(anthropic.AuthenticationError) as caught:
        demo_gateway.anthropic_sdk("atk_nope").messages.create(model=MODEL, max_tokens=5,
                                                               messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == "authentication_error"
    response = httpx.post(demo_gateway.url + "/v1/messages", headers={"x-api-key": key},
                          json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 400
    assert response.json() == {"type": "error", "error": {"type": "invalid_request_error",
                                                          "message": "'max_tokens' is required"}}
    with pytest.raises(anthropic.NotFoundError):
        demo_gateway.anthropic_sdk(key).messages.create(model="acme/none", max_tokens=5,
                                                        messages=[{"role": "user", "content": "x"}])
    _, broke = demo_gateway.new_key(usd="0")
    with pytest.raises(anthropic.APIStatusError) as caught:
        demo_gateway.anthropic_sdk(broke).messages.create(model=MODEL, max_tokens=5,
                                                          messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 402 and caught.value.body["error"]["type"] == "billing_error"


def test_request_translation_covers_system_images_tools_and_results():
    chat = to_chat_request({
        "model": "m", "max_tokens": 9, "system": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        "stop_sequences": ["END"], "metadata": {"user_id": "u1"}, "tools": TOOLS,
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image", "source": {
                "type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"},
                                              {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                               "input": {"city": "Zürich"}},
                                              {"type": "tool_use", "id": "toolu_2", "name": "get_weather",
                                               "input": {"city": "Köln"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                    {"type": "text", "text": "rain"}, {"type": "image", "source": {"type": "url",
                                                                                 "url": "https://x.test/a.png"}}]},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "boom", "is_error": True}]},
        ]})
    assert chat["messages"][0] == {"role": "system", "content": "one\n\ntwo"}
    assert chat["messages"][1]["content"][1]["image_url"]["url"] == "data:image/png;base64,iVBORw0KGgo="
    assistant = chat["messages"][2]
    assert [c["function"]["arguments"] for c in assistant["tool_calls"]] == ['{"city":"Zürich"}', '{"city":"Köln"}']
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": "toolu_1", "content": "rain"}
    assert chat["messages"][4] == {"role": "tool", "tool_call_id": "toolu_2", "content": "Error: boom"}
    assert chat["messages"][5]["content"] == [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]
    assert chat["tool_choice"] == "required" and chat["parallel_tool_calls"] is False
    assert chat["stop"] == ["END"] and chat["user"] == "u1" and chat["max_tokens"] == 9
    assert chat["tools"][0]["function"]["parameters"] == TOOLS[0]["input_schema"]


@pytest.mark.parametrize("body", [
    {"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]},
    {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "document"}]}]},
    {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
     "tools": [{"type": "web_search_20250305", "name": "web_search"}]},
    {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "?"}},
])
def test_untranslatable_requests_are_refused_clearly(body):
    """By the schema (a wrong shape) or by the translation (a valid request another provider cannot take)."""
    with pytest.raises(InvalidRequest) as caught:
        validate_messages(body)
        to_chat_request(body)
    assert shape(caught.value).status == 400


def test_response_translation_keeps_reasoning_tool_calls_and_cache_counts():
    chat = {"choices": [{"finish_reason": "tool_calls", "message": {
        "content": "checking", "reasoning_content": "think",
        "tool_calls": [{"id": "call_1", "function": {"name": "f", "arguments": '{"a": 1}'}}]}}]}
    message = to_message(chat, Usage(prompt_tokens=100, completion_tokens=20, cached_tokens=30, cache_write_tokens=10),
                         0.5, "gen-1", "p/m")
    assert [b["type"] for b in message["content"]] == ["thinking", "text", "tool_use"]
    assert message["content"][2]["input"] == {"a": 1} and message["stop_reason"] == "tool_use"
    assert message["usage"] == {"input_tokens": 60, "output_tokens": 20, "cache_creation_input_tokens": 10,
                                "cache_read_input_tokens": 30, "cost": 0.5}


def test_routing_preferences_apply_to_messages_too(demo_gateway):
    _, key = demo_gateway.new_key()
    response = httpx.post(demo_gateway.url + "/v1/messages", headers={"x-api-key": key},
                          json={"model": MODEL, "max_tokens": 20, "messages": [{"role": "user", "content": "x"}],
                                "provider": {"only": ["nobody"]}})
    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found_error"
    served = httpx.post(demo_gateway.url + "/v1/messages", headers={"x-api-key": key},
                        json={"model": MODEL + ":floor", "max_tokens": 20,
                              "messages": [{"role": "user", "content": "x"}]})
    assert served.status_code == 200 and served.json()["model"] == MODEL
