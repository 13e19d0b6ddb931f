"""The new-user path: demo provider, a key made with the CLI, the official openai SDK."""

import openai
import pytest


def test_completion_with_the_openai_sdk(demo_gateway):
    _, key = demo_gateway.new_key()
    reply = demo_gateway.sdk(key).chat.completions.create(
        model="alltoken/demo", messages=[{"role": "user", "content": "hello gateway"}])
    assert reply.id.startswith("gen-")
    assert reply.model == "alltoken/demo"
    assert "hello gateway" in reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.model_extra["cost"] > 0


def test_stream_with_the_openai_sdk_matches_the_plain_reply(demo_gateway):
    _, key = demo_gateway.new_key()
    sdk = demo_gateway.sdk(key)
    messages = [{"role": "user", "content": "stream this please"}]
    plain = sdk.chat.completions.create(model="alltoken/demo", messages=messages)
    chunks = list(sdk.chat.completions.create(model="alltoken/demo", messages=messages, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 3
    last = chunks[-1]
    assert last.choices == [] and last.usage.completion_tokens == plain.usage.completion_tokens
    assert last.usage.model_extra["cost"] == plain.usage.model_extra["cost"]
    assert {c.id for c in chunks} == {chunks[0].id}


def test_demo_tool_call_round_trip(demo_gateway):
    _, key = demo_gateway.new_key()
    sdk = demo_gateway.sdk(key)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    messages = [{"role": "user", "content": "weather in Paris?"}]
    first = sdk.chat.completions.create(model="alltoken/demo", messages=messages, tools=tools)
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"}]
    final = sdk.chat.completions.create(model="alltoken/demo", messages=messages, tools=tools)
    assert "sunny, 21C" in final.choices[0].message.content


def test_models_lists_the_demo_model_with_pricing(demo_gateway):
    models = demo_gateway.sdk("unused").models.list()
    demo = next(m for m in models.data if m.id == "alltoken/demo")
    extra = demo.model_extra
    assert extra["context_length"] > 0 and extra["providers"] == ["demo"]
    assert extra["pricing"] == {"prompt": "0.0000005", "completion": "0.0000015"}


def test_max_tokens_truncates_with_finish_reason_length(demo_gateway):
    _, key = demo_gateway.new_key()
    reply = demo_gateway.sdk(key).chat.completions.create(
        model="alltoken/demo", messages=[{"role": "user", "content": "a b c d e f g h"}], max_tokens=3)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 3


@pytest.mark.parametrize("stream", [False, True])
def test_unknown_model_is_a_404_in_the_sdk(demo_gateway, stream):
    _, key = demo_gateway.new_key()
    with pytest.raises(openai.NotFoundError) as caught:
        demo_gateway.sdk(key).chat.completions.create(
            model="nobody/nothing", messages=[{"role": "user", "content": "x"}], stream=stream)
    assert caught.value.body["code"] == "model_not_found"
