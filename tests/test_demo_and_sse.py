"""The demo provider and the SSE decoder, without a network."""

import pytest

from alltoken.config import ProviderConfig
from alltoken.providers.base import ChatCall
from alltoken.providers.demo.client import DemoProvider, count_tokens
from alltoken.providers.sse import read_events

demo = DemoProvider(ProviderConfig(id="demo", type="demo"))


def call(messages, **extra):
    return ChatCall({"model": "demo", "messages": messages, **extra}, "gen-test")


async def test_replies_are_deterministic_and_usage_is_counted():
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "héllo wörld, 你好!"}]
    first, second = await demo.chat(call(messages)), await demo.chat(call(messages))
    assert first.body["choices"] == second.body["choices"]
    text = first.body["choices"][0]["message"]["content"]
    assert "héllo wörld, 你好!" in text
    assert first.usage.completion_tokens == count_tokens(text)
    assert first.usage.prompt_tokens == count_tokens("be brief") + count_tokens("héllo wörld, 你好!") + 6


async def test_stream_joins_to_the_same_text_and_ends_with_usage():
    messages = [{"role": "user", "content": [{"type": "text", "text": "parts work too"}]}]
    plain = await demo.chat(call(messages))
    chunks = [c async for c in demo.chat_stream(call(messages))]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == plain.body["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == plain.usage.completion_tokens
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


async def test_tool_choice_and_tool_results():
    tools = [{"type": "function", "function": {"name": "a", "parameters": {"required": ["x"]}}},
             {"type": "function", "function": {"name": "b", "parameters": {}}}]
    chosen = await demo.chat(call([{"role": "user", "content": "go"}], tools=tools,
                                  tool_choice={"type": "function", "function": {"name": "b"}}))
    assert chosen.body["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "b"
    first = await demo.chat(call([{"role": "user", "content": "go"}], tools=tools))
    assert first.body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"x":"demo"}'
    none = await demo.chat(call([{"role": "user", "content": "go"}], tools=tools, tool_choice="none"))
    assert none.body["choices"][0]["finish_reason"] == "stop"


async def lines(*raw: bytes):
    for line in raw:
        yield line


@pytest.mark.parametrize("raw,expected", [
    ([b"data: {\"a\":1}\n", b"\n"], [(None, '{"a":1}')]),
    ([b"event: ping\n", b"data: {}\n", b"\n", b": comment\n", b"data: x\n", b"data: y\n", b"\n"],
     [("ping", "{}"), (None, "x\ny")]),
    ([b"data:no-space\r\n", b"\r\n", b"data: tail"], [(None, "no-space"), (None, "tail")]),
    ([b"\n", b"\n"], []),
])
async def test_sse_decoder(raw, expected):
    assert [(e.event, e.data) async for e in read_events(lines(*raw))] == expected
