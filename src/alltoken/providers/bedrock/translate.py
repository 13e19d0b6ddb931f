"""Pure translation between OpenAI Chat Completions and AWS Bedrock Converse / ConverseStream, and
between OpenAI embeddings and Amazon Titan Text Embeddings bodies (InvokeModel).

No I/O here: images named by https URL are fetched by the caller and passed in as bytes. Requests
have been checked against their schema (http/v1/schemas/), so their types are not checked again.
Wire format: AWS's Amazon Bedrock Runtime API reference (Converse, ConverseStream, InvokeModel).
"""

import base64
import re
import time
from collections.abc import Mapping
from typing import Any

import orjson

from alltoken.errors import UpstreamError
from alltoken.pricing import Usage
from alltoken.providers.failures import Failure, upstream_failure
from alltoken.providers.openai_request import (
    DataUrlError,
    ToolCallIds,
    call_arguments,
    image_url,
    is_data_url,
    read_data_url,
)

FetchedImages = Mapping[str, tuple[str, bytes]]     # https URL -> (mime type, bytes)

IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                 "image/webp": "webp"}

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}

# OpenAI reasoning_effort -> Claude extended-thinking budget (Claude's minimum budget is 1024).
CLAUDE_THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}
# Nova 2 takes the effort itself (maxReasoningEffort: low | medium | high).
NOVA_REASONING_EFFORTS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high"}

JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else."

_TOOL_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


def invalid(message: str, param: str | None = None) -> UpstreamError:
    return UpstreamError(400, message, type="invalid_request_error", code="invalid_request", param=param)


# ---------------------------------------------------------------- request


def https_image_urls(body: dict) -> list[str]:
    """Every https image URL in the conversation, in order, without repeats (the caller fetches them)."""
    urls: dict[str, None] = {}
    for message in body.get("messages") or []:
        content = message.get("content")
        for part in content if isinstance(content, list) else []:
            url = image_url(part) if part["type"] == "image_url" else None
            if url and url.lower().startswith("https://"):
                urls[url] = None
    return list(urls)


def to_converse(body: dict, images: FetchedImages) -> dict:
    """The Converse request body for an OpenAI chat request (the model id goes in the URL)."""
    if (body.get("n") or 1) > 1:
        raise invalid("the bedrock provider returns one choice per request; 'n' must be 1", param="n")
    system, turns = _split_messages(body["messages"], images)
    request: dict = {"messages": turns}
    system.extend(_json_object_instruction(body))
    if system:
        request["system"] = system
    _put(request, "inferenceConfig", _inference_config(body))
    _put(request, "toolConfig", _tool_config(body, turns))
    _put(request, "outputConfig", _output_config(body))
    _put(request, "additionalModelRequestFields", _reasoning_fields(body))
    return request


def _put(request: dict, key: str, value) -> None:
    if value:
        request[key] = value


def _split_messages(messages: list[dict], images: FetchedImages) -> tuple[list[dict], list[dict]]:
    """System blocks (every system/developer message, in order) and alternating user/assistant turns."""
    system: list[dict] = []
    turns: list[dict] = []
    ids = _tool_ids()
    for index, message in enumerate(messages):
        role = message.get("role")
        where = f"messages[{index}]"
        if role in ("system", "developer"):
            system.extend({"text": text} for text in _texts(message.get("content"), where) if text)
        elif role == "assistant":
            _append_turn(turns, "assistant", _assistant_blocks(message, index, ids, where))
        elif role in ("tool", "function"):
            _append_turn(turns, "user", [_tool_result(message, ids, images, where)])
        else:
            _append_turn(turns, "user", _user_blocks(message.get("content"), images, where))
    if not turns:
        raise invalid("the bedrock provider needs at least one user message with content", param="messages")
    return system, turns


def _append_turn(turns: list[dict], role: str, blocks: list[dict]) -> None:
    """Bedrock wants strictly alternating roles: consecutive turns of one role become one turn
    (several tool results answer one assistant turn together)."""
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _texts(content, where: str) -> list[str]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    texts = []
    for number, part in enumerate(content):
        if part["type"] not in ("text", "refusal"):
            raise invalid(f"{where}.content[{number}]: only text parts are allowed here",
                          param=f"{where}.content")
        texts.append(part[part["type"]])
    return texts


def _user_blocks(content, images: FetchedImages, where: str) -> list[dict]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks = []
    for number, part in enumerate(content or []):
        block = _content_part(part, images, f"{where}.content[{number}]")
        if block:
            blocks.append(block)
    return blocks


def _content_part(part: dict, images: FetchedImages, where: str) -> dict | None:
    kind = part["type"]
    if kind == "text":
        return {"text": part["text"]} if part["text"] else None
    if kind == "image_url":
        return _image_block(image_url(part), images, where)
    raise invalid(f"{where}: the bedrock provider takes text and image_url parts, not {kind!r}", param=where)


def _image_block(url: str | None, images: FetchedImages, where: str) -> dict:
    if not url:
        raise invalid(f"{where}: image_url.url is required", param=where)
    if is_data_url(url):
        try:
            data_url = read_data_url(url)
        except DataUrlError as exc:
            raise invalid(f"{where}: {exc}", param=where) from None
        mime, data = data_url.mime, data_url.data
    elif url in images:
        mime, raw = images[url]
        data = base64.b64encode(raw).decode("ascii")
    else:
        raise invalid(f"{where}: images must be data URLs or https URLs", param=where)
    image_format = IMAGE_FORMATS.get(mime)
    if image_format is None:
        raise invalid(f"{where}: Bedrock takes png, jpeg, gif or webp images, not {mime}", param=where)
    return {"image": {"format": image_format, "source": {"bytes": data}}}


def _tool_ids() -> ToolCallIds:
    """Bedrock tool ids: [a-zA-Z0-9_-]{1,64}."""
    return ToolCallIds(lambda raw: _TOOL_ID_UNSAFE.sub("_", raw)[:64],
                       lambda index, number: f"tooluse_m{index}c{number}")


def _assistant_blocks(message: dict, index: int, ids: ToolCallIds, where: str) -> list[dict]:
    blocks: list[dict[str, Any]] = [{"text": text} for text in _texts(message.get("content"), where) if text]
    calls = message.get("tool_calls") or []
    if not calls and message.get("function_call"):
        calls = [{"type": "function", "function": message["function_call"]}]
    call_ids = ids.for_calls(index, [call.get("id") for call in calls])
    for number, (call, call_id) in enumerate(zip(calls, call_ids)):
        function = call.get("function") or {}
        blocks.append({"toolUse": {"toolUseId": call_id,
                                   "name": function.get("name") or "",
                                   "input": _arguments(function.get("arguments"), f"{where}.tool_calls[{number}]")}})
    return blocks


def _arguments(raw: object, where: str) -> dict:
    try:
        return call_arguments(raw)
    except ValueError as exc:
        raise invalid(f"{where}.function.arguments {exc}", param=f"{where}.function.arguments") from None


def _tool_result(message: dict, ids: ToolCallIds, images: FetchedImages, where: str) -> dict:
    raw_id = message.get("tool_call_id") if message.get("role") == "tool" else None
    content = message.get("content")
    if isinstance(content, list):
        blocks = _user_blocks(content, images, where)
    else:
        blocks = [{"text": content}] if content else []
    return {"toolResult": {"toolUseId": ids.for_result(raw_id) or "tooluse_unmatched", "content": blocks}}


def _json_object_instruction(body: dict) -> list[dict]:
    """Converse has no JSON mode without a schema; json_object becomes an explicit instruction."""
    response_format = body.get("response_format") or {}
    return [{"text": JSON_OBJECT_INSTRUCTION}] if response_format.get("type") == "json_object" else []


def _output_config(body: dict) -> dict | None:
    response_format = body.get("response_format") or {}
    if response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema") or {}
    definition = {"schema": orjson.dumps(spec.get("schema") or {"type": "object"}).decode()}
    for key in ("name", "description"):
        if spec.get(key):
            definition[key] = spec[key]
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}}


def _inference_config(body: dict) -> dict:
    config = {}
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens:
        config["maxTokens"] = max_tokens
    for ours, theirs in (("temperature", "temperature"), ("top_p", "topP")):
        if body.get(ours) is not None:
            config[theirs] = body[ours]
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    return config


def _tool_config(body: dict, turns: list[dict]) -> dict | None:
    """Converse has no tool_choice 'none': the tools are left out instead. Bedrock refuses
    toolUse/toolResult blocks without a toolConfig, so a conversation that has them keeps one
    (with the caller's tools, or stand-ins named after the tools the history used)."""
    tools = [_tool_spec(tool) for tool in body.get("tools") or [] if tool["type"] == "function"]
    choice = body.get("tool_choice")
    history_names = _tool_names_in(turns)
    if choice == "none" or not tools:
        tools = tools or [_stand_in_spec(name) for name in history_names]
        return {"tools": tools} if history_names and tools else None
    config: dict = {"tools": tools}
    if choice == "required":
        config["toolChoice"] = {"any": {}}
    elif choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif isinstance(choice, dict) and choice["type"] == "function":
        config["toolChoice"] = {"tool": {"name": choice["function"]["name"]}}
    return config


def _tool_spec(tool: dict) -> dict:
    function = tool["function"]
    spec: dict = {"name": function["name"],
                  "inputSchema": {"json": function.get("parameters") or {"type": "object", "properties": {}}}}
    if function.get("description"):
        spec["description"] = function["description"]
    if function.get("strict") is not None:
        spec["strict"] = bool(function["strict"])
    return {"toolSpec": spec}


def _stand_in_spec(name: str) -> dict:
    return {"toolSpec": {"name": name, "inputSchema": {"json": {"type": "object"}}}}


def _tool_names_in(turns: list[dict]) -> list[str]:
    names: dict[str, None] = {}
    has_results = False
    for turn in turns:
        for block in turn["content"]:
            if "toolUse" in block and block["toolUse"]["name"]:
                names[block["toolUse"]["name"]] = None
            has_results = has_results or "toolResult" in block
    if has_results and not names:
        names["tool"] = None
    return list(names)


def _reasoning_fields(body: dict) -> dict | None:
    """reasoning_effort, for the Bedrock families whose switch we know (Claude, Nova 2)."""
    effort = body.get("reasoning_effort")
    model = str(body.get("model", ""))
    if not effort or effort == "none":
        return None
    if "anthropic.claude" in model and effort in CLAUDE_THINKING_BUDGETS:
        return {"thinking": {"type": "enabled", "budget_tokens": CLAUDE_THINKING_BUDGETS[effort]}}
    if "amazon.nova-2" in model and effort in NOVA_REASONING_EFFORTS:
        return {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": NOVA_REASONING_EFFORTS[effort]}}
    return None


# ---------------------------------------------------------------- response


def finish_reason(stop_reason: str | None) -> str:
    """Bedrock's stopReason as OpenAI's finish_reason; values newer than FINISH_REASONS map to 'stop'."""
    return FINISH_REASONS.get(stop_reason or "", "stop")


def usage_from_bedrock(usage: dict | None) -> Usage:
    """Bedrock's inputTokens leave out cache reads and writes (as Anthropic's do), so the
    inclusive prompt count adds them back."""
    usage = usage or {}
    cache_read = _count(usage.get("cacheReadInputTokens"))
    cache_write = _count(usage.get("cacheWriteInputTokens"))
    return Usage(prompt_tokens=_count(usage.get("inputTokens")) + cache_read + cache_write,
                 completion_tokens=_count(usage.get("outputTokens")),
                 cached_tokens=cache_read, cache_write_tokens=cache_write)


def openai_usage(usage: Usage) -> dict:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cached_tokens,
                                      "cache_write_tokens": usage.cache_write_tokens}}


def _count(value) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def from_converse(data: dict, model: str, response_id: str) -> tuple[dict, Usage]:
    """An OpenAI chat.completion for a Converse response, and its usage."""
    blocks = ((data.get("output") or {}).get("message") or {}).get("content") or []
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict] = []
    for block in blocks:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            calls.append(_tool_call(block["toolUse"], len(calls)))
        elif "reasoningContent" in block:
            reasoning.append(((block["reasoningContent"] or {}).get("reasoningText") or {}).get("text") or "")
    message: dict = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = calls
    usage = usage_from_bedrock(data.get("usage"))
    body = {"id": response_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish_reason(data.get("stopReason"))}],
            "usage": openai_usage(usage)}
    return body, usage


def _tool_call(tool_use: dict, number: int) -> dict:
    return {"id": tool_use.get("toolUseId") or f"tooluse_{number}", "type": "function",
            "function": {"name": tool_use.get("name") or "",
                         "arguments": orjson.dumps(tool_use.get("input", {})).decode()}}


class StreamTranslator:
    """ConverseStream events (`:event-type`, payload) -> OpenAI chunks. Blocks are keyed by
    contentBlockIndex, never by arrival order; only tool-use blocks have a contentBlockStart."""

    def __init__(self, model: str, response_id: str):
        self._base = {"id": response_id, "object": "chat.completion.chunk", "created": int(time.time()),
                      "model": model}
        self._tool_index: dict[int, int] = {}     # contentBlockIndex -> OpenAI tool_calls index
        self.finished = False
        self.usage: Usage | None = None

    def feed(self, event_type: str, payload: dict) -> list[dict]:
        handler = getattr(self, "_on_" + event_type, None)
        return handler(payload) if handler else []

    def _chunk(self, delta: dict, finish: str | None = None) -> dict:
        return {**self._base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    def _on_messageStart(self, payload: dict) -> list[dict]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def _on_contentBlockStart(self, payload: dict) -> list[dict]:
        tool_use = (payload.get("start") or {}).get("toolUse")
        if not tool_use:
            return []
        index = len(self._tool_index)
        self._tool_index[payload.get("contentBlockIndex", -1)] = index
        call = {"index": index, "id": tool_use.get("toolUseId") or f"tooluse_{index}", "type": "function",
                "function": {"name": tool_use.get("name") or "", "arguments": ""}}
        return [self._chunk({"tool_calls": [call]})]

    def _on_contentBlockDelta(self, payload: dict) -> list[dict]:
        delta = payload.get("delta") or {}
        if "text" in delta:
            return [self._chunk({"content": delta["text"]})] if delta["text"] else []
        if "toolUse" in delta:
            return self._tool_arguments(payload.get("contentBlockIndex", -1), delta["toolUse"])
        reasoning = (delta.get("reasoningContent") or {}).get("text")
        return [self._chunk({"reasoning_content": reasoning})] if reasoning else []

    def _tool_arguments(self, block_index: int, tool_use: dict) -> list[dict]:
        if block_index not in self._tool_index:
            raise upstream_failure(Failure.MALFORMED, "bedrock",
                                   message="provider sent tool input for a tool call it never started")
        fragment = tool_use.get("input") or ""
        call = {"index": self._tool_index[block_index], "function": {"arguments": fragment}}
        return [self._chunk({"tool_calls": [call]})] if fragment else []

    def _on_messageStop(self, payload: dict) -> list[dict]:
        self.finished = True
        return [self._chunk({}, finish_reason(payload.get("stopReason")))]

    def _on_metadata(self, payload: dict) -> list[dict]:
        self.usage = usage_from_bedrock(payload.get("usage"))
        return [{**self._base, "choices": [], "usage": openai_usage(self.usage)}]


# ---------------------------------------------------------------- embeddings (Titan Text Embeddings, InvokeModel)


TITAN_DIMENSIONS = (256, 512, 1024)


def to_titan_bodies(texts: list[str], dimensions: int | None) -> list[dict]:
    """One InvokeModel body per text: Titan embeds a single `inputText` a call. V2 normalizes by
    default, as OpenAI does, so `normalize` is not sent; `dimensions` is sent only when asked,
    which also keeps Titan V1 (it takes neither field) working."""
    if dimensions is not None and dimensions not in TITAN_DIMENSIONS:
        raise invalid(f"Titan Text Embeddings takes dimensions {', '.join(map(str, TITAN_DIMENSIONS))}",
                      param="dimensions")
    extra = {"dimensions": dimensions} if dimensions else {}
    return [{"inputText": text, **extra} for text in texts]


def from_titan(data: dict) -> tuple[list[float], int] | None:
    """The vector and its inputTextTokenCount, or None when the answer lacks either."""
    vector, tokens = data.get("embedding"), data.get("inputTextTokenCount")
    if not isinstance(vector, list) or not isinstance(tokens, int) or tokens < 0:
        return None
    return vector, tokens
