"""Anthropic Messages <-> our canonical (OpenAI Chat Completions) shape, for /v1/messages.

Pure functions. Requests to any model are translated; Anthropic-only features without an
equivalent (documents, citations, server tools) are refused with a clear 400 rather than dropped.
"""

import orjson

from ..billing.pricing import Usage
from .errors import bad_request

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal",
                "function_call": "tool_use"}


def to_chat_request(body: dict) -> dict:
    """An Anthropic request as a Chat Completions request (validated on the way)."""
    _require(body)
    messages = [{"role": "system", "content": system} for system in [_system_text(body.get("system"))] if system]
    for index, message in enumerate(body["messages"]):
        messages.extend(_message(index, message))
    chat = {"model": body["model"], "messages": messages, "max_tokens": body["max_tokens"]}
    for ours, theirs in (("temperature", "temperature"), ("top_p", "top_p"), ("stream", "stream")):
        if theirs in body:
            chat[ours] = body[theirs]
    if body.get("stop_sequences"):
        chat["stop"] = body["stop_sequences"]
    if isinstance(body.get("metadata"), dict) and body["metadata"].get("user_id"):
        chat["user"] = str(body["metadata"]["user_id"])
    if body.get("tools"):
        chat["tools"] = [_tool(index, tool) for index, tool in enumerate(body["tools"])]
    if body.get("tool_choice"):
        chat.update(_tool_choice(body["tool_choice"]))
    for routing_field in ("provider", "models"):  # AllToken's routing preferences work here too
        if routing_field in body:
            chat[routing_field] = body[routing_field]
    return chat


def _require(body: dict) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise bad_request("model: field required", param="model")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise bad_request("max_tokens: field required, a positive integer", param="max_tokens")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise bad_request("messages: field required, a non-empty array", param="messages")


def _system_text(system) -> str | None:
    if system is None or isinstance(system, str):
        return system or None
    if isinstance(system, list):
        return "\n\n".join(block.get("text", "") for block in system if isinstance(block, dict)) or None
    raise bad_request("system: must be a string or an array of text blocks", param="system")


def _message(index: int, message) -> list[dict]:
    where = f"messages.{index}"
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        raise bad_request(f"{where}: each message needs role 'user' or 'assistant'", param=where)
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": message["role"], "content": content}]
    if not isinstance(content, list):
        raise bad_request(f"{where}.content: must be a string or an array of content blocks", param=where)
    if message["role"] == "assistant":
        return [_assistant(where, content)]
    return _user(where, content)


def _user(where: str, blocks: list) -> list[dict]:
    """Tool results become tool messages (first, as OpenAI wants them right after the call);
    everything else stays one user message."""
    tool_messages, parts = [], []
    for number, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "tool_result":
            text, images = _tool_result_content(f"{where}.content.{number}", block.get("content"))
            prefix = "Error: " if block.get("is_error") else ""
            tool_messages.append({"role": "tool", "tool_call_id": str(block.get("tool_use_id", "")),
                                  "content": prefix + text})
            parts.extend(images)
        else:
            parts.append(_part(f"{where}.content.{number}", block))
    return tool_messages + ([{"role": "user", "content": parts}] if parts else [])


def _assistant(where: str, blocks: list) -> dict:
    texts, calls, reasoning = [], [], []
    for number, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_use":
            calls.append({"id": str(block.get("id", f"toolu_{number}")), "type": "function",
                          "function": {"name": block.get("name", ""),
                                       "arguments": orjson.dumps(block.get("input") or {}).decode()}})
        elif kind in ("thinking", "redacted_thinking"):
            reasoning.append(block.get("thinking", ""))
        else:
            raise bad_request(f"{where}.content.{number}: block type {kind!r} is not supported in assistant turns",
                              param=where)
    message = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _part(where: str, block) -> dict:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": _image_url(where, block.get("source") or {})}}
    raise bad_request(f"{where}: content block type {kind!r} is supported only on Anthropic models", param=where)


def _image_url(where: str, source: dict) -> str:
    if source.get("type") == "base64" and source.get("media_type") and source.get("data"):
        return f"data:{source['media_type']};base64,{source['data']}"
    if source.get("type") == "url" and source.get("url"):
        return source["url"]
    raise bad_request(f"{where}.source: an image needs a base64 source (media_type, data) or a url source",
                      param=where)


def _tool_result_content(where: str, content) -> tuple[str, list[dict]]:
    if content is None or isinstance(content, str):
        return content or "", []
    if not isinstance(content, list):
        raise bad_request(f"{where}.content: must be a string or an array of blocks", param=where)
    texts = [block.get("text", "") for block in content if isinstance(block, dict) and block.get("type") == "text"]
    images = [_part(where, block) for block in content if isinstance(block, dict) and block.get("type") == "image"]
    return "\n".join(texts), images


def _tool(index: int, tool) -> dict:
    if not isinstance(tool, dict) or not tool.get("name"):
        raise bad_request(f"tools.{index}: each tool needs a name and an input_schema", param=f"tools.{index}")
    if tool.get("type") not in (None, "custom"):
        raise bad_request(f"tools.{index}: server tool {tool['type']!r} is supported only on Anthropic models",
                          param=f"tools.{index}")
    function = {"name": tool["name"], "parameters": tool.get("input_schema") or {"type": "object"}}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice) -> dict:
    kind = choice.get("type") if isinstance(choice, dict) else None
    mapped = {"auto": "auto", "any": "required", "none": "none"}.get(kind)
    if kind == "tool":
        mapped = {"type": "function", "function": {"name": choice.get("name", "")}}
    if mapped is None:
        raise bad_request("tool_choice: type must be auto, any, tool or none", param="tool_choice")
    result = {"tool_choice": mapped}
    if choice.get("disable_parallel_tool_use"):
        result["parallel_tool_calls"] = False
    return result


def to_message(chat: dict, usage: Usage, cost: float, request_id: str, public_model: str) -> dict:
    """A chat.completion as an Anthropic message."""
    choice = (chat.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content = []
    if message.get("reasoning_content"):
        content.append({"type": "thinking", "thinking": message["reasoning_content"], "signature": ""})
    if message.get("content"):
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id") or f"toolu_{len(content)}",
                        "name": function.get("name", ""), "input": _arguments(function.get("arguments"))})
    return {"id": f"msg_{request_id}", "type": "message", "role": "assistant", "model": public_model,
            "content": content, "stop_reason": STOP_REASONS.get(choice.get("finish_reason"), "end_turn"),
            "stop_sequence": None, "usage": anthropic_usage(usage, cost)}


def anthropic_usage(usage: Usage, cost: float | None = None) -> dict:
    """Anthropic counts input tokens without cache reads and writes; we count them inside."""
    body = {"input_tokens": usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens,
            "output_tokens": usage.completion_tokens, "cache_creation_input_tokens": usage.cache_write_tokens,
            "cache_read_input_tokens": usage.cached_tokens}
    if cost is not None:
        body["cost"] = cost
    return body


def _arguments(arguments) -> dict:
    if isinstance(arguments, dict):
        return arguments
    try:
        parsed = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
