"""Anthropic Messages <-> our canonical (OpenAI Chat Completions) shape, for /v1/messages.

Pure functions. Requests to any model are translated; Anthropic-only features without an
equivalent (documents, citations, server tools) are refused with a clear 400 rather than dropped.
"""

from typing import Any

import orjson

from alltoken.http.errors import bad_request
from alltoken.pricing import Usage
from alltoken.providers.openai_request import call_arguments, data_url

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal",
                "function_call": "tool_use"}


def to_chat_request(body: dict) -> dict:
    """An Anthropic request (checked against its schema already) as a Chat Completions request."""
    turns = [turn for index, message in enumerate(body["messages"]) for turn in _message(index, message)]
    if not turns:
        raise bad_request("messages: every message is empty; send at least one with content", param="messages")
    system = _system_text(body.get("system"))
    messages = [{"role": "system", "content": system}, *turns] if system else turns
    chat = {"model": body["model"], "messages": messages, "max_tokens": body["max_tokens"]}
    for name in ("temperature", "top_p", "stream"):
        if name in body:
            chat[name] = body[name]
    if body.get("stop_sequences"):
        chat["stop"] = body["stop_sequences"]
    if (body.get("metadata") or {}).get("user_id"):
        chat["user"] = body["metadata"]["user_id"]
    if body.get("tools"):
        chat["tools"] = [_tool(index, tool) for index, tool in enumerate(body["tools"])]
    if body.get("tool_choice"):
        chat.update(_tool_choice(body["tool_choice"]))
    for routing_field in ("provider", "models"):  # AllToken's routing preferences work here too
        if routing_field in body:
            chat[routing_field] = body[routing_field]
    return chat


def _system_text(system: str | list | None) -> str | None:
    if isinstance(system, list):
        return "\n\n".join(block["text"] for block in system) or None
    return system or None


def _message(index: int, message: dict) -> list[dict]:
    where = f"messages[{index}]"
    if message["role"] == "system":
        raise bad_request(f"{where}: messages with role 'system' are supported only on Anthropic models; use the "
                          "top-level 'system'", param=f"{where}.role")
    content = message["content"]
    if isinstance(content, str):
        return [{"role": message["role"], "content": content}]
    if message["role"] == "assistant":
        return [_assistant(where, content)]
    return _user(where, content)


def _user(where: str, blocks: list[dict]) -> list[dict]:
    """Tool results become tool messages (first, as OpenAI wants them right after the call);
    everything else stays one user message."""
    tool_messages, parts = [], []
    for number, block in enumerate(blocks):
        if block["type"] == "tool_result":
            text, images = _tool_result_content(f"{where}.content[{number}]", block.get("content"))
            prefix = "Error: " if block.get("is_error") else ""
            tool_messages.append({"role": "tool", "tool_call_id": block["tool_use_id"], "content": prefix + text})
            parts.extend(images)
        else:
            parts.append(_part(f"{where}.content[{number}]", block))
    return tool_messages + ([{"role": "user", "content": parts}] if parts else [])


def _assistant(where: str, blocks: list[dict]) -> dict:
    texts, calls = [], []
    for number, block in enumerate(blocks):
        kind = block["type"]
        if kind == "text":
            texts.append(block["text"])
        elif kind == "tool_use":
            calls.append({"id": block["id"], "type": "function",
                          "function": {"name": block["name"], "arguments": orjson.dumps(block["input"]).decode()}})
        elif kind not in ("thinking", "redacted_thinking"):   # another model's thinking is not sent on
            raise bad_request(f"{where}.content[{number}]: block type {kind!r} is not supported in assistant turns",
                              param=f"{where}.content[{number}].type")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _part(where: str, block: dict) -> dict:
    if block["type"] == "text":
        return {"type": "text", "text": block["text"]}
    if block["type"] == "image":
        return {"type": "image_url", "image_url": {"url": _image_url(where, block["source"])}}
    raise bad_request(f"{where}: content block type {block['type']!r} is supported only on Anthropic models",
                      param=f"{where}.type")


def _image_url(where: str, source: dict) -> str:
    if source["type"] == "base64":
        return data_url(source["media_type"], source["data"])
    if source["type"] == "url":
        return source["url"]
    raise bad_request(f"{where}.source: an image from the Files API is supported only on Anthropic models; send a "
                      "base64 or url source", param=f"{where}.source")


def _tool_result_content(where: str, content: str | list | None) -> tuple[str, list[dict]]:
    if not isinstance(content, list):
        return content or "", []
    texts = [block["text"] for block in content if block["type"] == "text"]
    images = [_part(where, block) for block in content if block["type"] == "image"]
    return "\n".join(texts), images


def _tool(index: int, tool: dict) -> dict:
    if tool.get("type", "custom") != "custom":
        raise bad_request(f"tools[{index}]: server tool {tool['type']!r} is supported only on Anthropic models",
                          param=f"tools[{index}].type")
    function = {"name": tool["name"], "parameters": tool["input_schema"]}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice: dict) -> dict:
    kind = choice["type"]
    mapped: str | dict[str, Any] | None = {"auto": "auto", "any": "required", "none": "none"}.get(kind)
    if kind == "tool":
        mapped = {"type": "function", "function": {"name": choice["name"]}}
    result: dict[str, Any] = {"tool_choice": mapped}
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
    body: dict[str, Any] = {"input_tokens": usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens,
            "output_tokens": usage.completion_tokens, "cache_creation_input_tokens": usage.cache_write_tokens,
            "cache_read_input_tokens": usage.cached_tokens}
    if cost is not None:
        body["cost"] = cost
    return body


def _arguments(arguments: object) -> dict:
    try:
        return call_arguments(arguments)
    except ValueError:
        return {}
