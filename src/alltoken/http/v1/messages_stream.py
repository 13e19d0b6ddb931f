"""Canonical stream chunks as Anthropic's event sequence: message_start, content blocks
(text, thinking, tool_use with input_json_delta), message_delta with stop reason and usage,
message_stop. Errors mid-stream are an `error` event, as Anthropic sends them."""

import orjson
from starlette.responses import Response

from alltoken.errors import UpstreamError
from alltoken.http.errors import anthropic_body, anthropic_response
from alltoken.http.v1.messages_translate import STOP_REASONS, anthropic_usage
from alltoken.pricing import Usage


def event(name: str, payload: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


class AnthropicWire:
    endpoint = "messages"

    def __init__(self, request_id: str, public_model: str):
        self._message_id = f"msg_{request_id}"
        self._public_model = public_model
        self._started = False
        self._index = -1
        self._open: str | None = None          # kind of the open block: text | thinking | tool_use
        self._tool_blocks: dict[int, int] = {}  # canonical tool-call index -> block index

    def chunk(self, chunk: dict) -> bytes:
        out = [] if self._started else [self._message_start()]
        self._started = True
        choices = chunk.get("choices") or []
        delta = (choices[0].get("delta") or {}) if choices else {}
        if delta.get("reasoning_content"):
            out += self._ensure("thinking", {"type": "thinking", "thinking": ""})
            out.append(self._delta({"type": "thinking_delta", "thinking": delta["reasoning_content"]}))
        if delta.get("content"):
            out += self._ensure("text", {"type": "text", "text": ""})
            out.append(self._delta({"type": "text_delta", "text": delta["content"]}))
        for call in delta.get("tool_calls") or []:
            out += self._tool_call(call)
        return b"".join(out)

    def error(self, exc: UpstreamError) -> bytes:
        return event("error", anthropic_body(exc))

    def finish(self, usage: dict, finish_reason: str | None) -> bytes:
        out = [] if self._started else [self._message_start()]
        out += self._close()
        counts = anthropic_usage(Usage.from_openai(usage), usage.get("cost"))
        out.append(event("message_delta", {"type": "message_delta",
                                           "delta": {"stop_reason": STOP_REASONS.get(finish_reason or "", "end_turn"),
                                                     "stop_sequence": None},
                                           "usage": counts}))
        out.append(event("message_stop", {"type": "message_stop"}))
        return b"".join(out)

    def http_error(self, exc: UpstreamError, headers: dict) -> Response:
        return anthropic_response(exc, headers)

    def _message_start(self) -> bytes:
        # Input counts are known only at the end (OpenAI-style usage); message_delta carries them.
        return event("message_start", {"type": "message_start", "message": {
            "id": self._message_id, "type": "message", "role": "assistant", "model": self._public_model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0}}})

    def _tool_call(self, call: dict) -> list[bytes]:
        out = []
        position = call.get("index", 0)
        function = call.get("function") or {}
        if position not in self._tool_blocks:
            out += self._close()
            self._index += 1
            self._tool_blocks[position] = self._index
            self._open = "tool_use"
            out.append(event("content_block_start", {"type": "content_block_start", "index": self._index,
                                                     "content_block": {"type": "tool_use",
                                                                       "id": call.get("id") or f"toolu_{position}",
                                                                       "name": function.get("name", ""),
                                                                       "input": {}}}))
        if function.get("arguments"):
            out.append(event("content_block_delta", {"type": "content_block_delta",
                                                     "index": self._tool_blocks[position],
                                                     "delta": {"type": "input_json_delta",
                                                               "partial_json": function["arguments"]}}))
        return out

    def _ensure(self, kind: str, start: dict) -> list[bytes]:
        if self._open == kind:
            return []
        out = self._close()
        self._index += 1
        self._open = kind
        out.append(event("content_block_start", {"type": "content_block_start", "index": self._index,
                                                 "content_block": start}))
        return out

    def _delta(self, delta: dict) -> bytes:
        return event("content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta})

    def _close(self) -> list[bytes]:
        if self._open is None:
            return []
        self._open = None
        return [event("content_block_stop", {"type": "content_block_stop", "index": self._index})]
