"""Mistral chat completions (`POST https://api.mistral.ai/v1/chat/completions`): a dialect of OpenAI's.

What differs, and what this module does about it (Mistral's API reference, and its request model in
the mistralai/client-python SDK, `models/chatcompletionrequest.py`):
- the server answers 422 `extra_forbidden` for any field its model lacks, so requests keep only its fields;
- tool-call ids must be exactly 9 characters [A-Za-z0-9], so other ids are rewritten, the same way every turn;
- `tool_choice: "required"` is `"any"`, `max_completion_tokens` is `max_tokens`, `seed` is `random_seed`;
- reasoning models answer with content chunks (`thinking` and `text`), returned as `reasoning_content`;
- usage rides on the last content chunk of a stream, so it is moved to our final `choices: []` chunk.
"""

import dataclasses
import hashlib
import re
import string
from collections.abc import AsyncIterator
from typing import Any

import orjson

from alltoken.config import ProviderConfig
from alltoken.config.provider_types import provider_type
from alltoken.providers.failures import Failure, upstream_failure
from alltoken.providers.openai.client import OpenAIProvider, mid_stream_error
from alltoken.providers.openai_request import ToolCallIds, texts
from alltoken.providers.transport import Transport

# Every top-level field of Mistral's ChatCompletionRequest. Other OpenAI fields are dropped, because the server
# refuses them: logit_bias, logprobs, top_logprobs, user, safety_identifier, service_tier, store, modalities,
# audio, verbosity, web_search_options, functions, function_call, and stream_options (Mistral always reports
# usage on a stream's last chunk, and rejects `stream_options` outright).
REQUEST_FIELDS = frozenset((
    "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed", "metadata",
    "response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n", "prediction",
    "parallel_tool_calls", "reasoning_effort", "prompt_mode", "guardrails", "prompt_cache_key", "safe_prompt"))
RENAMED_FIELDS = {"max_completion_tokens": "max_tokens", "seed": "random_seed"}
MESSAGE_FIELDS = {
    "system": ("role", "content"),
    "user": ("role", "content"),
    "assistant": ("role", "content", "tool_calls", "prefix"),
    "tool": ("role", "content", "tool_call_id", "name"),
}
# Mistral takes "none" or "high" and answers 400 to anything else.
REASONING_OFF = frozenset(("none", "minimal"))
EMPTY_PARAMETERS = {"type": "object", "properties": {}}
FINISH_REASONS = {"model_length": "length"}

_MISTRAL_ID = re.compile(r"[A-Za-z0-9]{9}")
_ID_ALPHABET = string.ascii_letters + string.digits


class MistralProvider(OpenAIProvider):
    unsupported_parameters = frozenset(("logit_bias", "logprobs", "top_logprobs", "service_tier", "store",
                                        "modalities", "audio", "verbosity", "web_search_options"))

    def __init__(self, config: ProviderConfig, transport: Transport):
        super().__init__(dataclasses.replace(config, base_url=provider_type(config).base_url(config)), transport)

    def _embedding_body(self, body: dict) -> dict:
        """Mistral takes only its own fields (422 otherwise); `dimensions` is `output_dimension`."""
        upstream = {"model": body["model"], "input": body["input"]}
        if body.get("dimensions"):
            upstream["output_dimension"] = body["dimensions"]
        return upstream

    def _upstream_body(self, body: dict, *, stream: bool) -> dict:
        return to_mistral_request(body, stream=stream)

    def _adapt_response(self, data: dict) -> dict:
        return from_mistral_response(self.id, data)

    async def _adapt_stream(self, chunks: AsyncIterator[dict]) -> AsyncIterator[dict]:
        stream = MistralStream(self.id)
        async for chunk in chunks:
            for ours in stream.translate(chunk):
                yield ours
        for ours in stream.finish():
            yield ours

    status_failures = {503: Failure.OVERLOADED}   # "Service tier capacity exceeded for this model."

    def _error_detail(self, raw: bytes) -> dict[str, str]:
        return mistral_error_detail(raw)


# ------------------------------------------------------------------------------------------------ requests

def to_mistral_request(body: dict, *, stream: bool) -> dict:
    request = {name: value for name, value in body.items() if name in REQUEST_FIELDS}
    for openai_name, mistral_name in RENAMED_FIELDS.items():  # so max_completion_tokens wins over max_tokens
        if body.get(openai_name) is not None:
            request[mistral_name] = body[openai_name]
    request["messages"] = to_mistral_messages(body["messages"])
    request["stream"] = stream
    if request.get("tools"):
        request["tools"] = [_tool(tool) for tool in request["tools"]]
    if "tool_choice" in request:
        _apply_tool_choice(request)
    effort = request.get("reasoning_effort")
    if effort is not None:
        request["reasoning_effort"] = "none" if effort in REASONING_OFF else "high"
    return request


def _tool(tool: dict) -> dict:
    if tool["type"] != "function":
        return tool  # another kind of tool: Mistral judges it
    function = tool["function"]
    fields = {k: function[k] for k in ("name", "description", "parameters", "strict") if function.get(k) is not None}
    return {"type": "function", "function": {"parameters": EMPTY_PARAMETERS, **fields}}


def _apply_tool_choice(request: dict) -> None:
    choice = request["tool_choice"]
    if choice == "required":
        request["tool_choice"] = "any"
    elif isinstance(choice, dict) and choice["type"] == "allowed_tools":
        # OpenAI's "only these tools": Mistral has no such choice, so it gets only those tools.
        allowed = choice["allowed_tools"]
        names = {t["function"]["name"] for t in allowed["tools"] if t["type"] == "function"}
        request["tools"] = [t for t in request.get("tools") or [] if t["type"] == "function"
                            and t["function"]["name"] in names]
        request["tool_choice"] = "any" if allowed["mode"] == "required" else "auto"


def to_mistral_messages(messages: list[dict]) -> list[dict]:
    """System and developer messages become one leading system message (Mistral's templates expect one, first);
    tool-call ids are rewritten to Mistral's format; a conversation ending on the assistant continues it."""
    system_texts = [text for m in messages
                    if m.get("role") in ("system", "developer") and (text := "".join(texts(m.get("content"))))]
    converted: list[dict[str, Any]] = [{"role": "system", "content": "\n\n".join(system_texts)}] if system_texts else []
    ids = _tool_call_ids()
    for position, message in enumerate(messages):
        role = message.get("role")
        if role in ("system", "developer"):
            continue
        if role == "function":  # OpenAI's deprecated function result
            message = {"role": "tool", "name": message.get("name"), "content": message.get("content") or ""}
            role = "tool"
        mistral = {k: message[k] for k in MESSAGE_FIELDS.get(str(role), message) if message.get(k) is not None}
        if isinstance(mistral.get("content"), list):
            mistral["content"] = [_content_part(part) for part in mistral["content"]]
        if role == "assistant":
            calls = message.get("tool_calls") or []
            call_ids = ids.for_calls(position, [call.get("id") for call in calls])
            if calls:
                mistral["tool_calls"] = [_call_to_mistral(call, call_id) for call, call_id in zip(calls, call_ids)]
        elif role == "tool":
            answered = ids.for_result(message.get("tool_call_id"))
            mistral["tool_call_id"] = answered or mistral_tool_call_id("unanswerable")
        converted.append(mistral)
    if converted and converted[-1]["role"] == "assistant" and not converted[-1].get("tool_calls"):
        converted[-1]["prefix"] = True
    return converted


def _content_part(part: dict) -> dict:
    """Text and image parts with only the keys Mistral's chunks define; other parts pass for Mistral to judge."""
    if part["type"] == "text":
        return {"type": "text", "text": part["text"]}
    if part["type"] == "image_url":
        image = part["image_url"]
        if isinstance(image, dict):
            image = {k: image[k] for k in ("url", "detail") if image.get(k) is not None}
        return {"type": "image_url", "image_url": image}
    return part


def _call_to_mistral(call: dict, call_id: str) -> dict:
    function = call.get("function") or {}
    return {"id": call_id, "type": "function",
            "function": {"name": function.get("name"), "arguments": function.get("arguments") or "{}"}}


def mistral_tool_call_id(client_id: str) -> str:
    """A valid Mistral id stays; any other becomes 9 characters derived from it, so the assistant's call and
    the tool result that answers it agree, on this turn and every later one. (62^9 ids: no practical clash.)"""
    if _MISTRAL_ID.fullmatch(client_id):
        return client_id
    number = int.from_bytes(hashlib.sha256(client_id.encode()).digest()[:8], "big")
    letters = []
    for _ in range(9):
        number, digit = divmod(number, len(_ID_ALPHABET))
        letters.append(_ID_ALPHABET[digit])
    return "".join(letters)


def _tool_call_ids() -> ToolCallIds:
    return ToolCallIds(mistral_tool_call_id, lambda index, number: mistral_tool_call_id(f"call-{index}-{number}"))


# ----------------------------------------------------------------------------------------------- responses

def from_mistral_response(provider_id: str, data: dict) -> dict:
    for choice in data.get("choices") or []:
        choice["finish_reason"] = _finish_reason(provider_id, choice.get("finish_reason"))
        message = choice.get("message") or {}
        text, reasoning = split_content(message.get("content"))
        message["content"] = text
        if reasoning:
            message["reasoning_content"] = reasoning
        if message.get("tool_calls"):
            message["tool_calls"] = [_call_from_mistral(call, f"{data.get('id')}-{choice.get('index', 0)}-{n}")
                                     for n, call in enumerate(message["tool_calls"])]
    if "usage" in data:
        data["usage"] = normalize_usage(data["usage"])
    return data


def split_content(content) -> tuple[str | None, str | None]:
    """(text, reasoning) from Mistral content: a string, or chunks of `text` and `thinking`."""
    if not isinstance(content, list):
        return content, None
    said, thoughts = [], []
    for chunk in content:
        if not isinstance(chunk, dict):
            continue
        if chunk.get("type") == "text":
            said.append(chunk.get("text") or "")
        elif chunk.get("type") == "thinking":
            thinking = chunk.get("thinking")
            thoughts.append(thinking if isinstance(thinking, str) else "".join(texts(thinking)))
    return ("".join(said) if said else None), ("".join(thoughts) if thoughts else None)


def _call_from_mistral(call: dict, fallback_key: str) -> dict:
    function = call.get("function") or {}
    call_id = call.get("id")
    if not call_id or call_id == "null":  # the SDK's default when the server sent none
        call_id = mistral_tool_call_id(fallback_key)
    return {"id": call_id, "type": "function",
            "function": {"name": function.get("name"), "arguments": _arguments(function.get("arguments"))}}


def _arguments(arguments) -> str:
    """Mistral may send arguments as a JSON object; OpenAI clients expect the JSON text."""
    if arguments is None:
        return ""
    return arguments if isinstance(arguments, str) else orjson.dumps(arguments).decode()


def _finish_reason(provider_id: str, reason: str | None) -> str | None:
    if reason == "error":
        raise upstream_failure(Failure.SERVER_ERROR, provider_id,
                               message=f"provider {provider_id} failed while generating")
    return FINISH_REASONS.get(reason, reason) if reason is not None else None


def normalize_usage(usage):
    """Cached prompt tokens where OpenAI clients look for them; Mistral has also sent them as
    `num_cached_tokens` and under the misspelt `prompt_token_details`."""
    if not isinstance(usage, dict):
        return usage
    details = usage.get("prompt_tokens_details") or usage.get("prompt_token_details") or {}
    cached = details.get("cached_tokens") or usage.get("num_cached_tokens")
    if cached:
        usage = {**usage, "prompt_tokens_details": {**details, "cached_tokens": cached}}
    return usage


class MistralStream:
    """One stream's translation. Each Mistral tool call arrives whole, often with `index` 0 for every call, so
    calls are told apart by id and numbered here; each is sent as OpenAI does: a first delta with index, id, type,
    name and empty arguments, then the arguments. Usage is held back for the final `choices: []` chunk."""

    def __init__(self, provider_id: str):
        self._provider_id = provider_id
        self._envelope: dict = {}
        self._usage: dict | None = None
        self._calls: dict[int, _ChoiceCalls] = {}

    def translate(self, chunk: dict) -> list[dict]:
        if chunk.get("object") == "error":
            raise mid_stream_error(self._provider_id, chunk)
        self._envelope = {k: chunk[k] for k in ("id", "object", "created", "model") if k in chunk}
        if chunk.get("usage"):
            self._usage = normalize_usage(chunk["usage"])
        return [ours for choice in chunk.get("choices") or [] for ours in self._choice(choice)]

    def finish(self) -> list[dict]:
        return [self._chunk(choices=[], usage=self._usage)] if self._usage else []

    def _choice(self, choice: dict) -> list[dict]:
        index = choice.get("index", 0)
        delta = choice.get("delta") or {}
        out = []
        text_delta = self._text_delta(delta)
        if text_delta:
            out.append(self._choice_chunk(index, text_delta))
        for call in delta.get("tool_calls") or []:
            calls = self._calls.setdefault(index, _ChoiceCalls(f"{self._envelope.get('id')}-{index}"))
            out.extend(self._choice_chunk(index, {"tool_calls": [d]}) for d in calls.deltas(call))
        finish = _finish_reason(self._provider_id, choice.get("finish_reason"))
        if finish:
            out.append(self._choice_chunk(index, {}, finish))
        return out

    @staticmethod
    def _text_delta(delta: dict) -> dict:
        ours = {k: v for k, v in delta.items() if k not in ("content", "tool_calls") and v is not None}
        text, reasoning = split_content(delta.get("content"))
        if reasoning:
            ours["reasoning_content"] = reasoning
        if text is not None:
            ours["content"] = text
        return ours

    def _choice_chunk(self, index: int, delta: dict, finish_reason: str | None = None) -> dict:
        return self._chunk(choices=[{"index": index, "delta": delta, "finish_reason": finish_reason}])

    def _chunk(self, **fields) -> dict:
        return {**self._envelope, "object": "chat.completion.chunk", **fields}


class _ChoiceCalls:
    """The tool calls of one choice in a stream: Mistral's ids and indexes to ours."""

    def __init__(self, key: str):
        self._key = key
        self._by_id: dict[str, int] = {}
        self._by_upstream_index: dict[int, int] = {}

    def deltas(self, call: dict) -> list[dict]:
        function = call.get("function") or {}
        call_id = call.get("id") if call.get("id") not in (None, "", "null") else None
        upstream_index = call.get("index", 0)
        ours = self._by_id.get(call_id) if call_id else self._by_upstream_index.get(upstream_index)
        deltas = []
        if ours is None:  # a new call
            ours = len(self._by_id)
            call_id = call_id or mistral_tool_call_id(f"{self._key}-{ours}")
            self._by_id[call_id] = ours
            self._by_upstream_index[upstream_index] = ours
            deltas.append({"index": ours, "id": call_id, "type": "function",
                           "function": {"name": function.get("name"), "arguments": ""}})
        arguments = _arguments(function.get("arguments"))
        if arguments:
            deltas.append({"index": ours, "function": {"arguments": arguments}})
        return deltas


# ------------------------------------------------------------------------------------------------- errors

def mistral_error_detail(raw: bytes) -> dict:
    """message/type/code/param from Mistral's error bodies: `{"object": "error", "message", "type", "param",
    "code"}` (message may be a validation object), FastAPI's `{"detail": [...]}`, or `{"message": ...}`."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    error = data.get("error", data)
    if not isinstance(error, dict):
        return {"message": str(error)} if error else {}
    detail = {k: error[k] for k in ("type", "param") if isinstance(error.get(k), str)}
    code = error.get("code")
    if isinstance(code, (str, int)) and not isinstance(code, bool):
        detail["code"] = str(code)
    message = _error_message(error.get("message", error.get("detail")))
    if message:
        detail["message"] = message
    return detail


def _error_message(message) -> str | None:
    if isinstance(message, str) and message.startswith("{"):
        try:
            return _error_message(orjson.loads(message))  # older bodies carry the validation object as text
        except orjson.JSONDecodeError:
            return message
    if isinstance(message, dict):
        return _error_message(message.get("detail", message.get("message")))
    if isinstance(message, list):
        return "; ".join(_validation_problem(item) for item in message) or None
    return message if isinstance(message, str) else None


def _validation_problem(item) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in (item.get("loc") or [])[1:])  # drop the leading "body"
    return f"{where}: {item.get('msg')}" if where else str(item.get("msg"))
