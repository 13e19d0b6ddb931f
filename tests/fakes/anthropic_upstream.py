"""A fake Anthropic Messages API that checks requests as strictly as the real one and answers in
its wire format (Anthropic's Messages API reference).

Tests script it: `fake.plan(...)` queues the behaviour of the next requests; with nothing queued
it answers a fixed text, or a call of the first tool when tools are offered and the conversation
does not end in tool results. Everything it accepted is kept in `fake.requests` / `fake.headers`.
"""

import asyncio
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from .scripted import ScriptedFake

API_KEY = "sk-ant-fake-upstream-key"
VERSION = "2023-06-01"

TOP_LEVEL_FIELDS = frozenset((
    "model", "max_tokens", "messages", "system", "stop_sequences", "stream", "temperature", "top_p", "top_k",
    "tools", "tool_choice", "thinking", "metadata", "service_tier", "output_config", "container", "inference_geo",
    "cache_control", "mcp_servers", "context_management"))
BLOCK_TYPES = {
    "user": {"text", "image", "document", "tool_result", "search_result"},
    "assistant": {"text", "tool_use", "thinking", "redacted_thinking"},
}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


@dataclass
class Plan:
    text: str = "Hello from the fake Claude."
    thinking: str = ""                     # answer with a thinking block first
    tool_calls: list | None = None         # [(name, input), ...]; None: the default rule above
    input_tokens: int = 25
    output_tokens: int = 9
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    stop_reason: str | None = None         # None: tool_use when calling tools, else end_turn
    status: int = 200
    error_type: str = "api_error"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    error_event_first: bool = False        # HTTP 200, then `event: error` before message_start
    fail_mid_stream: bool = False          # `event: error` (overloaded) after the first text delta
    malformed_event: bool = False          # a data line that is not JSON, after the first text delta
    cut_stream: bool = False               # connection closed after the first text delta


class FakeAnthropic(ScriptedFake[Plan]):
    def __init__(self):
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)
        super().__init__(app, Plan)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("x-api-key") != API_KEY:
            return error_response(401, "authentication_error", "invalid x-api-key")
        if request.headers.get("anthropic-version") != VERSION:
            return error_response(400, "invalid_request_error", "anthropic-version: header is required")
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return error_response(400, "invalid_request_error", "There was an error parsing the body")
        problem = request_problem(body)
        if problem:
            return error_response(400, "invalid_request_error", problem)
        self._record(request, body)
        plan = self._take_plan()
        if plan.delay:
            await asyncio.sleep(plan.delay)
        if plan.status != 200:
            return error_response(plan.status, plan.error_type, f"fake failure {plan.status}", plan.headers)
        blocks = _content(body, plan)
        if body.get("stream"):
            return await _stream(request, body, plan, blocks)
        return web.Response(body=orjson.dumps(_message(body, plan, blocks)), content_type="application/json")

    async def _count_tokens(self, request: web.Request) -> web.Response:
        """Counts one token per whitespace-separated word of the user text (max_tokens not required)."""
        if request.headers.get("x-api-key") != API_KEY or request.headers.get("anthropic-version") != VERSION:
            return error_response(401, "authentication_error", "invalid x-api-key")
        body = orjson.loads(await request.read())
        if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
            return error_response(400, "invalid_request_error", "model and messages: Field required")
        self._record(request, body)
        words = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        return web.Response(body=orjson.dumps({"input_tokens": words}), content_type="application/json")


# ---------------------------------------------------------------- request checks

def request_problem(body) -> str | None:
    """What the real API would refuse in this request, in its words where known."""
    if not isinstance(body, dict):
        return "body: Input should be an object"
    extra = sorted(set(body) - TOP_LEVEL_FIELDS)
    if extra:
        return f"{extra[0]}: Extra inputs are not permitted"
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    if not isinstance(body.get("max_tokens"), int) or isinstance(body["max_tokens"], bool) or body["max_tokens"] < 1:
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required"
    return (_system_problem(body.get("system")) or _messages_problem(messages) or _tools_problem(body)
            or _thinking_problem(body) or _stop_problem(body.get("stop_sequences")))


def _system_problem(system) -> str | None:
    if system is None or isinstance(system, str):
        return None
    if not isinstance(system, list) or any(not _is_text_block(b) for b in system):
        return "system: Input should be a valid string or a list of text blocks"
    return None


def _messages_problem(messages: list) -> str | None:
    open_calls: set[str] = set()
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        role = message.get("role") if isinstance(message, dict) else None
        if role == "system":
            return ('messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, '
                    'not "system" as an input message role.')
        if role not in BLOCK_TYPES:
            return f"{where}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list) or not content:
            return f"{where}: all messages must have non-empty content"
        problem = _blocks_problem(content, role, where)
        if problem:
            return problem
        answered = {b["tool_use_id"] for b in content if b["type"] == "tool_result"}
        if role == "user" and open_calls != answered:
            return (f"{where}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(sorted(open_calls - answered))}" if open_calls - answered
                    else f"{where}: unexpected `tool_use_id` found in `tool_result` blocks")
        open_calls = {b["id"] for b in content if b["type"] == "tool_use"}
    return None


def _blocks_problem(content: list, role: str, where: str) -> str | None:
    seen_other = False
    for number, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        at = f"{where}.content.{number}"
        if kind not in BLOCK_TYPES[role]:
            return f"{at}.type: Input tag '{kind}' is not valid for role '{role}'"
        problem = _block_problem(block, kind, at)
        if problem:
            return problem
        if kind == "tool_result" and seen_other:
            return f"{at}: tool_result blocks must come first in the user message"
        seen_other = seen_other or kind != "tool_result"
    return None


def _block_problem(block: dict, kind: str, at: str) -> str | None:
    if kind == "text" and not _is_text_block(block):
        return f"{at}: text content blocks must be non-empty"
    if kind == "image":
        return _source_problem(block.get("source"), at)
    if kind == "tool_use":
        valid = (isinstance(block.get("id"), str) and block["id"].replace("_", "a").replace("-", "a").isalnum()
                 and isinstance(block.get("name"), str) and isinstance(block.get("input"), dict))
        return None if valid else f"{at}: tool_use needs an id matching ^[a-zA-Z0-9_-]+$, a name and an object input"
    if kind == "tool_result":
        content = block.get("content")
        if not isinstance(block.get("tool_use_id"), str):
            return f"{at}.tool_use_id: Field required"
        if isinstance(content, list):
            for number, part in enumerate(content):
                problem = _tool_result_part_problem(part, f"{at}.content.{number}")
                if problem:
                    return problem
    if kind == "thinking" and not isinstance(block.get("signature"), str):
        return f"{at}.signature: Field required"
    return None


def _tool_result_part_problem(part, at: str) -> str | None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return None if _is_text_block(part) else f"{at}: text content blocks must be non-empty"
    if kind == "image":
        return _source_problem(part.get("source"), at)
    return f"{at}.type: Input tag '{kind}' is not valid inside a tool_result"


def _source_problem(source, at: str) -> str | None:
    if not isinstance(source, dict):
        return f"{at}.source: Field required"
    if source.get("type") == "base64":
        if source.get("media_type") not in IMAGE_TYPES or not source.get("data"):
            return f"{at}.source: base64 images need media_type one of {sorted(IMAGE_TYPES)} and data"
        return None
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return None
    return f"{at}.source.type: Input tag '{source.get('type')}' is not valid"


def _tools_problem(body: dict) -> str | None:
    for number, tool in enumerate(body.get("tools") or ()):
        schema = tool.get("input_schema") if isinstance(tool, dict) else None
        if not isinstance(tool.get("name"), str) or not isinstance(schema, dict) or schema.get("type") != "object":
            return f"tools.{number}: a tool needs a name and an input_schema of type object"
        if "parameters" in tool or "function" in tool:
            return f"tools.{number}: Extra inputs are not permitted"
    choice = body.get("tool_choice")
    if choice is not None:
        if not body.get("tools"):
            return "tool_choice: may only be specified while providing tools"
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            return "tool_choice: Input should be an object with type auto, any, tool or none"
    return None


def _thinking_problem(body: dict) -> str | None:
    thinking = body.get("thinking")
    if thinking is None or thinking.get("type") in ("adaptive", "disabled"):
        return None
    budget = thinking.get("budget_tokens")
    if thinking.get("type") != "enabled" or not isinstance(budget, int):
        return "thinking: Input tag is not valid"
    if budget < 1024:
        return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    if budget >= body["max_tokens"]:
        return "`max_tokens` must be greater than `thinking.budget_tokens`"
    return None


def _stop_problem(stop) -> str | None:
    if stop is not None and (not isinstance(stop, list) or any(not isinstance(s, str) or not s.strip() for s in stop)):
        return "stop_sequences: each stop sequence must contain non-whitespace"
    return None


def _is_text_block(block) -> bool:
    return isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str) \
        and bool(block["text"])


# ---------------------------------------------------------------- answers

def _content(body: dict, plan: Plan) -> list[dict]:
    blocks = []
    if plan.thinking:
        blocks.append({"type": "thinking", "thinking": plan.thinking, "signature": f"sig-fake-{len(plan.thinking)}"})
    calls = plan.tool_calls
    if calls is None:
        calls = _default_calls(body)
    if calls:
        blocks += [{"type": "tool_use", "id": f"toolu_fake{number}", "name": name, "input": arguments}
                   for number, (name, arguments) in enumerate(calls)]
    else:
        blocks.append({"type": "text", "text": plan.text})
    return blocks


def _default_calls(body: dict) -> list:
    tools = body.get("tools")
    if not tools or (body.get("tool_choice") or {}).get("type") == "none":
        return []
    last = body["messages"][-1]["content"]
    if isinstance(last, list) and any(block["type"] == "tool_result" for block in last):
        return []
    return [(tools[0]["name"], {"city": "Paris"})]


def _stop_reason(plan: Plan, blocks: list[dict]) -> str:
    if plan.stop_reason:
        return plan.stop_reason
    return "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"


def _usage(plan: Plan, output_tokens: int) -> dict:
    return {"input_tokens": plan.input_tokens, "output_tokens": output_tokens,
            "cache_creation_input_tokens": plan.cache_creation_input_tokens,
            "cache_read_input_tokens": plan.cache_read_input_tokens,
            "cache_creation": {"ephemeral_5m_input_tokens": plan.cache_creation_input_tokens,
                               "ephemeral_1h_input_tokens": 0},
            "service_tier": "standard"}


def _message(body: dict, plan: Plan, blocks: list[dict]) -> dict:
    return {"id": "msg_fake01", "type": "message", "role": "assistant", "model": body["model"], "content": blocks,
            "stop_reason": _stop_reason(plan, blocks), "stop_sequence": None,
            "usage": _usage(plan, plan.output_tokens)}


async def _stream(request: web.Request, body: dict, plan: Plan, blocks: list[dict]) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "request-id": "req_fake"})
    await response.prepare(request)
    if plan.error_event_first:
        await _overloaded(response)
        return response
    start = {**_message(body, plan, []), "stop_reason": None, "usage": _usage(plan, 1)}
    await _event(response, "message_start", {"type": "message_start", "message": start})
    await _event(response, "ping", {"type": "ping"})
    for index, block in enumerate(blocks):
        if not await _stream_block(response, index, block, plan):
            return response
    delta = {"stop_reason": _stop_reason(plan, blocks), "stop_sequence": None}
    await _event(response, "message_delta", {"type": "message_delta", "delta": delta,
                                             "usage": {"output_tokens": plan.output_tokens}})
    await _event(response, "message_stop", {"type": "message_stop"})
    await response.write_eof()
    return response


async def _stream_block(response: web.StreamResponse, index: int, block: dict, plan: Plan) -> bool:
    """Send one content block as start/delta.../stop; False if the plan broke the stream off."""
    kind = block["type"]
    empty = {"text": {"type": "text", "text": ""}, "thinking": {"type": "thinking", "thinking": ""},
             "tool_use": {**block, "input": {}}}[kind]
    await _event(response, "content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": empty})
    for number, delta in enumerate(_deltas(block)):
        await _event(response, "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        if kind == "text" and number == 0 and not await _break_off(response, plan):
            return False
    await _event(response, "content_block_stop", {"type": "content_block_stop", "index": index})
    return True


def _deltas(block: dict) -> list[dict]:
    if block["type"] == "text":
        words = block["text"].split(" ")
        return [{"type": "text_delta", "text": piece} for piece in [words[0]] + [" " + w for w in words[1:]]]
    if block["type"] == "thinking":
        half = len(block["thinking"]) // 2
        return [{"type": "thinking_delta", "thinking": block["thinking"][:half]},
                {"type": "thinking_delta", "thinking": block["thinking"][half:]},
                {"type": "signature_delta", "signature": block["signature"]}]
    arguments = orjson.dumps(block["input"]).decode()
    half = len(arguments) // 2
    return [{"type": "input_json_delta", "partial_json": part} for part in ("", arguments[:half], arguments[half:])]


async def _break_off(response: web.StreamResponse, plan: Plan) -> bool:
    if plan.fail_mid_stream:
        await _overloaded(response)
        return False
    if plan.malformed_event:
        await response.write(b"event: content_block_delta\ndata: {not json\n\n")
        return False
    if plan.cut_stream:
        await response.write_eof()
        return False
    return True


async def _overloaded(response: web.StreamResponse) -> None:
    await _event(response, "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})


async def _event(response: web.StreamResponse, name: str, payload: dict) -> None:
    await response.write(b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n")


def error_response(status: int, kind: str, message: str, headers: dict | None = None) -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake"}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json",
                        headers={"request-id": "req_fake", **(headers or {})})
