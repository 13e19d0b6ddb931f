"""The offline demo provider: deterministic replies, real streaming, real token counts, real images.

It lets every feature (keys, credits, usage, streaming, tools, images) be tried without a provider
account. Tokens are counted with a simple word/punctuation split, which is what it bills.
"""

import asyncio
import hashlib
import math
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from alltoken.config import ProviderConfig
from alltoken.pricing import Usage
from alltoken.providers.base import ChatCall, ChatResult, EmbeddingCall, EmbeddingProvider, EmbeddingResult, Provider
from alltoken.providers.demo.images import SUPPORT, make_images, stream_images
from alltoken.providers.image_base import ImageCall, ImageProvider, ImageResult, ImageSupport
from alltoken.providers.openai_request import texts

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
DEFAULT_MAX_TOKENS = 4096
DEFAULT_DIMENSIONS = 64


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


class DemoProvider(Provider, EmbeddingProvider, ImageProvider):
    def __init__(self, config: ProviderConfig, transport=None):
        super().__init__(config)
        self.retains_prompts = self.trains_on_prompts = False  # it runs in this process and keeps nothing
        self._delay = float(config.options.get("stream_delay_ms", 0)) / 1000

    async def chat(self, call: ChatCall) -> ChatResult:
        reply = _Reply.build(call.body)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_call:
            message["tool_calls"] = [reply.tool_call]
        body = {
            "id": call.request_id, "object": "chat.completion", "created": int(time.time()),
            "model": call.body["model"],
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}],
            "usage": reply.usage_dict(),
        }
        return ChatResult(body, reply.usage)

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[dict]:
        reply = _Reply.build(call.body)
        base = {"id": call.request_id, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": call.body["model"]}
        yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
        for piece in reply.pieces:
            if self._delay:
                await asyncio.sleep(self._delay)
            yield {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        if reply.tool_call:
            delta = {"tool_calls": [{"index": 0, **reply.tool_call}]}
            yield {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]}
        yield {**base, "choices": [], "usage": reply.usage_dict()}

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        """Deterministic unit vectors from a hash of each input: the same text, the same vector."""
        inputs = call.body["input"]
        items = [inputs] if isinstance(inputs, str) or (inputs and isinstance(inputs[0], int)) else inputs
        dimensions = call.body.get("dimensions") or DEFAULT_DIMENSIONS
        vectors = [_vector(str(item), dimensions) for item in items]
        tokens = sum(len(item) if isinstance(item, list) else count_tokens(item) for item in items)
        return EmbeddingResult(vectors, Usage(prompt_tokens=tokens))

    def image_support(self, upstream_model: str) -> ImageSupport:
        return SUPPORT

    async def images(self, call: ImageCall) -> ImageResult:
        return await make_images(call, count_tokens)

    def images_stream(self, call: ImageCall) -> AsyncIterator[dict]:
        return stream_images(call, count_tokens)


def _vector(text: str, dimensions: int) -> list[float]:
    raw = hashlib.shake_256(text.encode()).digest(dimensions * 2)
    values = [int.from_bytes(raw[i:i + 2], "little") / 32768 - 1 for i in range(0, len(raw), 2)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


class _Reply:
    """What the demo model answers to a conversation, worked out once."""

    def __init__(self, pieces: list[str], tool_call: dict | None, finish_reason: str, usage: Usage):
        self.pieces = pieces
        self.text = "".join(pieces)
        self.tool_call = tool_call
        self.finish_reason = finish_reason
        self.usage = usage

    @classmethod
    def build(cls, body: dict) -> "_Reply":
        messages = body["messages"]
        prompt_tokens = sum(count_tokens(_text_of(m)) + 3 for m in messages)
        tool_call = _tool_call(body)
        text = "" if tool_call else _answer(messages)
        pieces = _pieces(text)
        limit = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
        finish = "tool_calls" if tool_call else "stop"
        if len(pieces) > limit:
            pieces, finish = pieces[:limit], "length"
        completion_tokens = len(pieces) + (count_tokens(orjson.dumps(tool_call).decode()) if tool_call else 0)
        return cls(pieces, tool_call, finish, Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens))

    def usage_dict(self) -> dict:
        return {"prompt_tokens": self.usage.prompt_tokens, "completion_tokens": self.usage.completion_tokens,
                "total_tokens": self.usage.total_tokens}


def _answer(messages: list[dict]) -> str:
    last = messages[-1]
    if last["role"] == "tool":
        return f"The tool answered: {_text_of(last)[:200]}"
    said = _text_of(last).strip()
    if not said:
        return "Hello from the AllToken demo model. Send me a message and I will echo it back."
    return f"Hello from the AllToken demo model. You said: {said[:500]}"


def _pieces(text: str) -> list[str]:
    """Split into tokens that keep their leading whitespace, so joining them restores the text."""
    return re.findall(r"\s*(?:\w+|[^\w\s])", text) if text else []


def _tool_call(body: dict) -> dict | None:
    """A call of the tool chosen by name, else of the first function tool offered."""
    functions = [tool["function"] for tool in body.get("tools") or () if tool["type"] == "function"]
    choice = body.get("tool_choice") or "auto"
    if not functions or choice == "none" or body["messages"][-1]["role"] == "tool":
        return None
    function = functions[0]
    if isinstance(choice, dict) and choice["type"] == "function":
        function = next((f for f in functions if f["name"] == choice["function"]["name"]), function)
    required = (function.get("parameters") or {}).get("required") or []
    arguments = orjson.dumps({name: "demo" for name in required}).decode()
    return {"id": "call_demo0001", "type": "function", "function": {"name": function["name"], "arguments": arguments}}


def _text_of(message: dict) -> str:
    return " ".join(texts(message.get("content")))
