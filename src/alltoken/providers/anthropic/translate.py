"""Pure translation between OpenAI Chat Completions and the Anthropic Messages API.

No I/O here: providers/anthropic/client.py sends what `to_messages_request` builds and feeds what comes
back to `to_chat_completion` or a `StreamTranslator`. The request has been checked against its
schema (http/v1/schemas/chat.py), so its types are not checked again here. Choices where the two
APIs differ:

- max_tokens (required by Anthropic): the request's max_completion_tokens or max_tokens, else the
  model's max output from the catalog, else DEFAULT_MAX_TOKENS (the same default the gateway's
  credit reservation assumes for a model with no known limit).
- System and developer messages, wherever they appear, become the top-level `system` blocks in
  order (Anthropic has no system role inside `messages`).
- response_format json_schema -> native structured outputs (`output_config.format`); json_object
  has no native equivalent without a schema, so it becomes an instruction in `system`.
- Reasoning (`reasoning_effort`, or an OpenRouter-style `reasoning` object with effort /
  max_tokens / exclude / enabled): on models with adaptive thinking, `thinking: adaptive` plus
  `output_config.effort` (minimal/low -> low, medium, high, xhigh -> max; a bare token budget
  leaves the model's default effort). Elsewhere `thinking: enabled` with budget_tokens =
  reasoning.max_tokens, or a share of max_tokens by effort (EFFORT_BUDGET_SHARE), at least 1024.
  Thinking comes back as `reasoning_content` (and `thinking_blocks` with signatures, which a client
  may send back on the assistant message to continue a tool loop with thinking on; a tool loop
  continued without them is sent with thinking off, since Anthropic would refuse it).
- Tool-call ids are kept when they fit Anthropic's pattern, otherwise cleaned the same way on the
  call and its result; a missing id is synthesized from the call's position (stable across
  retries), and a tool result without a usable id answers the oldest unanswered call.
- `cache_control` on content parts (as OpenRouter clients send it) is kept, as a 5-minute cache.
- Not expressible on Anthropic and refused with a 400: n > 1, audio input, legacy `functions`.
  Ignored as sampling hints it lacks: seed, presence/frequency penalties, logit_bias, logprobs.
"""

import re
from dataclasses import dataclass
from typing import Any

import orjson

from alltoken.providers.openai_request import (
    DataUrlError,
    ToolCallIds,
    call_arguments,
    file_data,
    image_url,
    is_data_url,
    read_data_url,
)

DEFAULT_MAX_TOKENS = 4096
MIN_THINKING_BUDGET = 1024
EFFORT_BUDGET_SHARE = {"minimal": 0.1, "low": 0.2, "medium": 0.5, "high": 0.8, "xhigh": 0.95}
ADAPTIVE_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "max"}
JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else."

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_PASSED_THROUGH = ("temperature", "top_p", "top_k")


class TranslationError(ValueError):
    """A request that cannot be expressed for Anthropic; the caller's mistake (HTTP 400)."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True, slots=True)
class ModelTraits:
    """What the translation needs to know about the upstream model (from the catalog)."""

    max_output_tokens: int | None = None
    adaptive_thinking: bool = False


@dataclass(frozen=True, slots=True)
class Reasoning:
    effort: str | None
    budget: int | None


# ---------------------------------------------------------------- request

def to_messages_request(body: dict, traits: ModelTraits) -> dict:
    """An OpenAI chat request as an Anthropic Messages request (without `stream`)."""
    _refuse_unsupported(body)
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or traits.max_output_tokens \
        or DEFAULT_MAX_TOKENS
    request = {"model": body["model"], "max_tokens": max_tokens, "messages": to_anthropic_messages(body["messages"])}
    system = system_blocks(body["messages"], json_object=_wants_json_object(body))
    if system:
        request["system"] = system
    request.update(_sampling_fields(body))
    request.update(_tool_fields(body))
    output_config = _add_thinking(request, reasoning_request(body), traits)
    output_format = structured_output_format(body.get("response_format"))
    if output_format:
        output_config["format"] = output_format
    if output_config:
        request["output_config"] = output_config
    return request


def _sampling_fields(body: dict) -> dict:
    fields = {name: body[name] for name in _PASSED_THROUGH if body.get(name) is not None}
    stop = stop_sequences(body.get("stop"))
    if stop:
        fields["stop_sequences"] = stop
    if body.get("user"):
        fields["metadata"] = {"user_id": body["user"]}
    return fields


def _tool_fields(body: dict) -> dict:
    if not body.get("tools"):
        return {}  # Anthropic refuses tool_choice without tools
    fields: dict[str, Any] = {"tools": to_anthropic_tools(body["tools"])}
    choice = to_anthropic_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice:
        fields["tool_choice"] = choice
    return fields


def _refuse_unsupported(body: dict) -> None:
    if (body.get("n") or 1) > 1:
        raise TranslationError("n > 1 is not supported by Anthropic models; send separate requests", "n")
    if body.get("functions") or body.get("function_call"):
        raise TranslationError("legacy 'functions' are not supported for Anthropic models; use 'tools'", "functions")


def system_blocks(messages: list[dict], json_object: bool = False) -> list[dict]:
    """Every system and developer message, in order, as Anthropic system text blocks."""
    blocks = []
    for index, message in enumerate(messages):
        if message.get("role") in ("system", "developer"):
            blocks.extend(_text_blocks(message.get("content"), f"messages[{index}].content"))
    if json_object:
        blocks.append({"type": "text", "text": JSON_OBJECT_INSTRUCTION})
    return blocks


def to_anthropic_messages(messages: list[dict]) -> list[dict]:
    """User, assistant and tool messages as alternating Anthropic turns; empty ones dropped,
    consecutive tool results (and anything else of the same role) merged into one turn."""
    ids = _tool_ids()
    turns: list[dict] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        where = f"messages[{index}]"
        if role in ("system", "developer"):
            continue
        if role == "user":
            blocks = _content_blocks(message.get("content"), f"{where}.content")
        elif role == "assistant":
            blocks = _assistant_blocks(message, index, ids)
        elif role == "tool":
            blocks = [_tool_result_block(message, where, ids)]
        else:
            raise TranslationError(f"{where}.role '{role}' is not supported for Anthropic models; use tools",
                                   f"{where}.role")
        if blocks:
            _append_turn(turns, "assistant" if role == "assistant" else "user", blocks)
    if not turns:
        raise TranslationError("messages must include at least one non-empty user or assistant message", "messages")
    return turns


def _append_turn(turns: list[dict], role: str, blocks: list[dict]) -> None:
    if turns and turns[-1]["role"] == role:
        content = turns[-1]["content"] + blocks
        # Anthropic wants a user turn's tool results before anything else in it.
        turns[-1]["content"] = ([b for b in content if b["type"] == "tool_result"]
                                + [b for b in content if b["type"] != "tool_result"])
    else:
        turns.append({"role": role, "content": blocks})


def _content_blocks(content, where: str) -> list[dict]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for number, part in enumerate(content):
        block = _content_block(part, f"{where}[{number}]")
        if block:
            blocks.append(block)
    return blocks


def _content_block(part: dict, where: str) -> dict | None:
    kind = part["type"]
    if kind in ("text", "refusal"):  # refusal: an assistant part sent back, kept as its text
        block = {"type": "text", "text": part[kind]} if part[kind] else None
    elif kind == "image_url":
        block = image_block(image_url(part), where)
    elif kind == "file":
        block = _document_block(file_data(part), where)
    elif kind == "input_audio":
        raise TranslationError(f"{where}: audio input is not supported by Anthropic models", where)
    else:
        raise TranslationError(f"{where}: content part type '{kind}' is not supported for Anthropic models", where)
    if block and part.get("cache_control") is not None:
        # 5-minute caching only: 1-hour writes cost more, and usage does not let us bill them apart.
        block["cache_control"] = {"type": "ephemeral"}
    return block


def _text_blocks(content, where: str) -> list[dict]:
    blocks = _content_blocks(content, where)
    if any(block["type"] != "text" for block in blocks):
        raise TranslationError(f"{where}: system messages may only contain text", where)
    return blocks


def image_block(url: str | None, where: str) -> dict:
    """An OpenAI image URL as an Anthropic image block: data URLs inline (base64), http(s) URLs
    by reference (Anthropic fetches them itself)."""
    if not url:
        raise TranslationError(f"{where}.image_url.url is required", where)
    if is_data_url(url):
        return {"type": "image", "source": _base64_source(url, where)}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise TranslationError(f"{where}.image_url.url must be a data: URL or an https URL", where)


def _document_block(data_url: str | None, where: str) -> dict:
    if data_url is None or not is_data_url(data_url):
        raise TranslationError(f"{where}: only inline files (file.file_data as a data: URL) are supported "
                               "for Anthropic models", where)
    return {"type": "document", "source": _base64_source(data_url, where)}


def _base64_source(url: str, where: str) -> dict:
    try:
        data_url = read_data_url(url)
    except DataUrlError as exc:
        raise TranslationError(f"{where}: {exc}", where) from None
    return {"type": "base64", "media_type": data_url.mime, "data": data_url.data}


def _assistant_blocks(message: dict, index: int, ids: ToolCallIds) -> list[dict]:
    where = f"messages[{index}]"
    blocks = _thinking_blocks(message.get("thinking_blocks"), f"{where}.thinking_blocks")
    blocks += _content_blocks(message.get("content"), f"{where}.content")
    calls = message.get("tool_calls") or []
    call_ids = ids.for_calls(index, [call.get("id") for call in calls])
    for number, (call, call_id) in enumerate(zip(calls, call_ids)):
        blocks.append(_tool_use_block(call, call_id, f"{where}.tool_calls[{number}]"))
    return blocks


def _thinking_blocks(blocks: list[dict] | None, where: str) -> list[dict]:
    """Thinking blocks a client sent back (as we returned them), so a tool loop can go on with thinking."""
    kept = []
    for block in blocks or ():
        if block["type"] == "thinking" and block.get("signature"):
            kept.append({"type": "thinking", "thinking": block.get("thinking") or "", "signature": block["signature"]})
        elif block["type"] == "redacted_thinking" and block.get("data"):
            kept.append({"type": "redacted_thinking", "data": block["data"]})
        else:
            raise TranslationError(f"{where}: each block must be a signed thinking block or redacted_thinking", where)
    return kept


def _tool_use_block(call: dict, call_id: str, where: str) -> dict:
    function = call.get("function")
    if function is None:
        raise TranslationError(f"{where}: only function tool calls are supported for Anthropic models", where)
    return {"type": "tool_use", "id": call_id, "name": function["name"],
            "input": _arguments_object(function.get("arguments"), where)}


def _arguments_object(arguments: object, where: str) -> dict:
    try:
        return call_arguments(arguments)
    except ValueError:
        raise TranslationError(f"{where}.function.arguments must be a JSON object", where) from None


def _tool_result_block(message: dict, where: str, ids: ToolCallIds) -> dict:
    tool_use_id = ids.for_result(message.get("tool_call_id"))
    if tool_use_id is None:
        raise TranslationError(f"{where}.tool_call_id does not match any tool call", f"{where}.tool_call_id")
    block: dict = {"type": "tool_result", "tool_use_id": tool_use_id}
    content = message.get("content")
    if isinstance(content, str):
        if content:
            block["content"] = content
    else:
        parts = _content_blocks(content, f"{where}.content")
        if parts:
            block["content"] = parts  # text and images: Anthropic takes both inside a tool result
    return block


def _tool_ids() -> ToolCallIds:
    """Tool-use ids as Anthropic accepts them (^[A-Za-z0-9_-]+$)."""
    return ToolCallIds(lambda raw: _UNSAFE_ID_CHARS.sub("_", raw), lambda index, number: f"toolu_{index}_{number}")


def stop_sequences(stop: str | list[str] | None) -> list[str]:
    if isinstance(stop, str):
        stop = [stop]
    return [s for s in stop or () if s]


def to_anthropic_tools(tools: list[dict]) -> list[dict]:
    converted = []
    for number, tool in enumerate(tools):
        if tool["type"] != "function":
            raise TranslationError(f"tools[{number}]: only function tools are supported for Anthropic models",
                                   f"tools[{number}]")
        function = tool["function"]
        schema = function.get("parameters") or {"type": "object", "properties": {}}
        anthropic_tool = {"name": function["name"], "input_schema": {"type": "object", **schema}}
        if function.get("description"):
            anthropic_tool["description"] = function["description"]
        if function.get("strict") is True:
            anthropic_tool["strict"] = True
        converted.append(anthropic_tool)
    return converted


def to_anthropic_tool_choice(choice, parallel_tool_calls) -> dict | None:
    if choice is None or choice == "auto":
        result: dict[str, Any] = {"type": "auto"}
    elif choice == "none":
        return {"type": "none"}
    elif choice == "required":
        result = {"type": "any"}
    elif choice["type"] == "function":
        result = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise TranslationError(f"tool_choice of type '{choice['type']}' is not supported for Anthropic models",
                               "tool_choice")
    if parallel_tool_calls is False:
        result["disable_parallel_tool_use"] = True
    elif choice is None:
        return None  # Anthropic's default is auto already
    return result


def structured_output_format(response_format: dict | None) -> dict | None:
    if not response_format or response_format["type"] in ("text", "json_object"):
        return None
    if response_format["type"] == "json_schema":
        schema = response_format["json_schema"].get("schema")
        if schema is None:
            raise TranslationError("response_format.json_schema.schema is required", "response_format")
        return {"type": "json_schema", "schema": schema}
    raise TranslationError(f"response_format type '{response_format['type']}' is not supported",
                           "response_format")


def _wants_json_object(body: dict) -> bool:
    response_format = body.get("response_format")
    return response_format is not None and response_format["type"] == "json_object"


def reasoning_request(body: dict) -> Reasoning | None:
    """The reasoning a request asks for (reasoning_effort, or a `reasoning` object), or None."""
    options = body.get("reasoning") or {}
    effort = options.get("effort", body.get("reasoning_effort"))
    budget = options.get("max_tokens")
    if effort == "none" or options.get("enabled") is False:
        return None
    if effort is not None and effort not in EFFORT_BUDGET_SHARE:
        raise TranslationError(f"reasoning effort must be one of none, {', '.join(EFFORT_BUDGET_SHARE)}",
                               "reasoning_effort")
    if effort is None and budget is None and options.get("enabled") is not True:
        return None
    return Reasoning(effort, budget)


def reasoning_hidden(body: dict) -> bool:
    """OpenRouter's `reasoning.exclude`: think, but leave the thinking out of the reply."""
    return (body.get("reasoning") or {}).get("exclude") is True


def _add_thinking(request: dict, reasoning: Reasoning | None, traits: ModelTraits) -> dict:
    """Set `thinking` on the request; returns the output_config it needs (effort), possibly empty."""
    if reasoning is None or _tool_loop_without_thinking(request["messages"]):
        return {}
    if traits.adaptive_thinking:
        request["thinking"] = {"type": "adaptive"}
        effort = ADAPTIVE_EFFORT.get(reasoning.effort) if reasoning.effort else None
        return {"effort": effort} if effort else {}
    max_tokens = request["max_tokens"]
    budget = reasoning.budget or int(max_tokens * EFFORT_BUDGET_SHARE[reasoning.effort or "medium"])
    budget = max(budget, MIN_THINKING_BUDGET)
    if budget >= max_tokens:
        raise TranslationError(f"reasoning with a budget of {budget} tokens needs max_tokens above {budget} "
                               "on this model (the budget is part of max_tokens)", "max_tokens")
    request["thinking"] = {"type": "enabled", "budget_tokens": budget}
    return {}


def _tool_loop_without_thinking(messages: list[dict]) -> bool:
    """True when the request continues a tool call whose assistant turn has no thinking block:
    Anthropic refuses that with thinking on, and clients that drop thinking_blocks send it."""
    if len(messages) < 2 or messages[-1]["role"] != "user":
        return False
    if not any(block["type"] == "tool_result" for block in messages[-1]["content"]):
        return False
    assistant = messages[-2]["content"]
    return assistant[0]["type"] not in ("thinking", "redacted_thinking")


# ---------------------------------------------------------------- response

def to_chat_completion(data: dict, created: int, include_reasoning: bool = True) -> dict:
    """An Anthropic Message as an OpenAI chat.completion."""
    texts, reasoning, tool_calls, thinking_blocks = [], [], [], []
    for block in data.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "thinking":
            reasoning.append(block.get("thinking") or "")
            thinking_blocks.append({"type": "thinking", "thinking": block.get("thinking") or "",
                                    "signature": block.get("signature") or ""})
        elif kind == "redacted_thinking":
            thinking_blocks.append({"type": "redacted_thinking", "data": block.get("data") or ""})
        elif kind == "tool_use":
            tool_calls.append(tool_call(block))
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not tool_calls else None,
               "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if include_reasoning and reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if include_reasoning and thinking_blocks:
        message["thinking_blocks"] = thinking_blocks
    return {
        "id": data.get("id") or "", "object": "chat.completion", "created": created, "model": data.get("model") or "",
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason(data.get("stop_reason"))}],
        "usage": openai_usage(data.get("usage")),
    }


def tool_call(block: dict) -> dict:
    arguments = orjson.dumps(block.get("input") or {}).decode()
    return {"id": block.get("id") or "", "type": "function",
            "function": {"name": block.get("name") or "", "arguments": arguments}}


def finish_reason(stop_reason: str | None) -> str:
    return FINISH_REASONS.get(stop_reason or "end_turn", "stop")


def openai_usage(usage: dict | None) -> dict:
    """Anthropic usage in OpenAI's inclusive shape: input_tokens excludes cache reads and writes,
    so prompt_tokens is the sum of all three."""
    usage = usage or {}
    fresh = _count(usage.get("input_tokens"))
    cache_write = _count(usage.get("cache_creation_input_tokens"))
    cache_read = _count(usage.get("cache_read_input_tokens"))
    output = _count(usage.get("output_tokens"))
    thinking = _count((usage.get("output_tokens_details") or {}).get("thinking_tokens"))
    prompt = fresh + cache_write + cache_read
    return {
        "prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output,
        "prompt_tokens_details": {"cached_tokens": cache_read, "cache_write_tokens": cache_write},
        "completion_tokens_details": {"reasoning_tokens": thinking},
    }


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


# ---------------------------------------------------------------- stream

class StreamTranslator:
    """Anthropic stream events in, OpenAI chunk dicts out. Usage: input and cache counts from
    message_start, cumulative output (and any later input/cache counts) from message_delta;
    the usage chunk (`choices: []`) is emitted at message_stop."""

    def __init__(self, created: int, include_reasoning: bool = True):
        self._created = created
        self._include_reasoning = include_reasoning
        self._id = ""
        self._model = ""
        self._usage: dict = {}
        self._tool_index: dict[Any, int] = {}  # Anthropic block index -> OpenAI tool_calls index
        self.finished = False

    def feed(self, event: dict) -> list[dict]:
        handler = {
            "message_start": self._message_start,
            "content_block_start": self._block_start,
            "content_block_delta": self._block_delta,
            "message_delta": self._message_delta,
            "message_stop": self._message_stop,
        }.get(str(event.get("type")))
        return handler(event) if handler else []  # ping, content_block_stop, new event types

    def _message_start(self, event: dict) -> list[dict]:
        message = event.get("message") or {}
        self._id = message.get("id") or ""
        self._model = message.get("model") or ""
        self._merge_usage(message.get("usage"))
        return [self._chunk({"role": "assistant", "content": ""})]

    def _block_start(self, event: dict) -> list[dict]:
        block = event.get("content_block") or {}
        kind = block.get("type")
        if kind == "tool_use":
            index = self._tool_index.setdefault(event.get("index"), len(self._tool_index))
            arguments = orjson.dumps(block["input"]).decode() if block.get("input") else ""
            return [self._chunk({"tool_calls": [{"index": index, "id": block.get("id") or "", "type": "function",
                                                 "function": {"name": block.get("name") or "",
                                                              "arguments": arguments}}]})]
        if kind == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        if kind == "thinking" and block.get("thinking") and self._include_reasoning:
            return [self._chunk({"reasoning_content": block["thinking"]})]
        return []

    def _block_delta(self, event: dict) -> list[dict]:
        delta = event.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [self._chunk({"content": delta["text"]})]
        if kind == "input_json_delta" and delta.get("partial_json") and event.get("index") in self._tool_index:
            index = self._tool_index[event["index"]]
            return [self._chunk({"tool_calls": [{"index": index, "function": {"arguments": delta["partial_json"]}}]})]
        if kind == "thinking_delta" and delta.get("thinking") and self._include_reasoning:
            return [self._chunk({"reasoning_content": delta["thinking"]})]
        return []  # signature_delta, citations_delta, empty fragments

    def _message_delta(self, event: dict) -> list[dict]:
        self._merge_usage(event.get("usage"))
        stop_reason = (event.get("delta") or {}).get("stop_reason")
        return [self._chunk({}, finish_reason(stop_reason))] if stop_reason else []

    def _message_stop(self, event: dict) -> list[dict]:
        self.finished = True
        return [{"id": self._id, "object": "chat.completion.chunk", "created": self._created, "model": self._model,
                 "choices": [], "usage": openai_usage(self._usage)}]

    def _merge_usage(self, usage: dict | None) -> None:
        self._usage.update({k: v for k, v in (usage or {}).items() if v is not None})

    def _chunk(self, delta: dict, finish: str | None = None) -> dict:
        return {"id": self._id, "object": "chat.completion.chunk", "created": self._created, "model": self._model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
