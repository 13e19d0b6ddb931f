"""A fake Mistral chat completions server (its wire format as in Mistral's API reference).

It checks requests as strictly as Mistral does: bearer auth, no field outside Mistral's request model
(422 `extra_forbidden`, in Mistral's error shape), tool-call ids of exactly 9 characters [A-Za-z0-9] that
match between the assistant's calls and the tool results, a last message from the user or a tool (or an
assistant prefix), `reasoning_effort` of "none" or "high". It answers in Mistral's shapes: thinking chunks,
tool calls that arrive whole (every one with `index` 0 in a stream), arguments that may be a JSON object,
`model_length`, and usage on the last content chunk of a stream.

Tests script it with `fake.plan(...)`; everything it accepted is kept in `fake.requests`.
"""

import re
import time
import uuid
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from .scripted import ScriptedFake

API_KEY = "mistral-fake-key"

REQUEST_FIELDS = frozenset((
    "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed", "metadata",
    "response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n", "prediction",
    "parallel_tool_calls", "reasoning_effort", "prompt_mode", "guardrails", "prompt_cache_key", "safe_prompt"))
MESSAGE_FIELDS = {
    "system": {"role", "content"},
    "user": {"role", "content"},
    "assistant": {"role", "content", "tool_calls", "prefix"},
    "tool": {"role", "content", "tool_call_id", "name"},
}
PART_FIELDS = {"text": {"type", "text"}, "image_url": {"type", "image_url"}, "thinking": {"type", "thinking", "closed"}}
EMBEDDING_FIELDS = frozenset(("model", "input", "output_dimension", "output_dtype", "encoding_format", "metadata"))
TOOL_CHOICES = {"auto", "none", "any", "required"}
TOOL_CALL_ID = re.compile(r"[A-Za-z0-9]{9}")


@dataclass
class Plan:
    text: str = "Bonjour from the fake Mistral."
    prompt_tokens: int = 17
    completion_tokens: int = 9
    cached_tokens: int = 0
    thinking: str | None = None                 # answered first, as thinking chunks
    tool_calls: list[tuple[str, dict]] = field(default_factory=list)   # (name, arguments), each arrives whole
    arguments_as_object: bool = False           # Mistral may send arguments as a JSON object
    finish_reason: str | None = None            # e.g. "model_length" or "error"
    status: int = 200
    error_body: dict | None = None
    headers: dict = field(default_factory=dict)
    fail_mid_stream: bool = False
    malformed_event: bool = False


class FakeMistral(ScriptedFake[Plan]):
    def __init__(self):
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        super().__init__(app, Plan, path="/v1")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _json(401, {"message": "Unauthorized", "request_id": uuid.uuid4().hex})
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _error(400, "Invalid JSON body", "invalid_request_error")
        problem = _validation_problem(body) or _conversation_problem(body)
        if problem:
            return problem
        self._record(request, body)
        plan = self._take_plan()
        if plan.status != 200:
            return _json(plan.status, plan.error_body or _error_body_for(plan.status), plan.headers)
        if body.get("stream"):
            return await _stream(request, body, plan)
        return _json(200, _completion(body, plan))

    async def _embeddings(self, request: web.Request) -> web.Response:
        """Mistral's embeddings: its own fields only (422 otherwise); vectors [index, len(text)]."""
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _json(401, {"message": "Unauthorized", "request_id": uuid.uuid4().hex})
        body = orjson.loads(await request.read())
        extra = [_extra(["body", name], value) for name, value in body.items() if name not in EMBEDDING_FIELDS]
        if extra:
            return _unprocessable(extra)
        self._record(request, body)
        inputs = [body["input"]] if isinstance(body["input"], str) else body["input"]
        size = body.get("output_dimension", 2)
        data = [{"object": "embedding", "index": i, "embedding": ([float(i), float(len(text))] + [0.0] * size)[:size]}
                for i, text in enumerate(inputs)]
        tokens = sum(len(text.split()) for text in inputs)
        return _json(200, {"id": uuid.uuid4().hex, "object": "list", "data": data, "model": body["model"],
                           "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0}})


# --------------------------------------------------------------------------------------------- validation

def _validation_problem(body) -> web.Response | None:
    """Pydantic-style checks: FastAPI answers these with 422 and a `detail` list."""
    if not isinstance(body, dict):
        return _unprocessable([{"type": "model_type", "loc": ["body"], "msg": "Input should be an object"}])
    problems = [_extra(["body", key], value) for key, value in body.items() if key not in REQUEST_FIELDS]
    problems += [{"type": "missing", "loc": ["body", key], "msg": "Field required"}
                 for key in ("model", "messages") if key not in body]
    for index, message in enumerate(body.get("messages") or []):
        allowed = MESSAGE_FIELDS.get(message.get("role"))
        if allowed is None:
            problems.append({"type": "union_tag_invalid", "loc": ["body", "messages", index, "role"],
                             "msg": f"Input tag '{message.get('role')}' does not match any of the expected tags"})
            continue
        problems += [_extra(["body", "messages", index, key], value) for key, value in message.items()
                     if key not in allowed]
        for part_index, part in enumerate(message["content"] if isinstance(message.get("content"), list) else []):
            known = PART_FIELDS.get(part.get("type"), set(part))
            problems += [_extra(["body", "messages", index, "content", part_index, key], value)
                         for key, value in part.items() if key not in known]
    for index, tool in enumerate(body.get("tools") or []):
        if "parameters" not in (tool.get("function") or {}):
            problems.append({"type": "missing", "loc": ["body", "tools", index, "function", "parameters"],
                             "msg": "Field required"})
    choice = body.get("tool_choice")
    named = isinstance(choice, dict) and choice.get("type") == "function"
    if choice is not None and not (named or choice in TOOL_CHOICES):
        problems.append({"type": "enum", "loc": ["body", "tool_choice"], "msg": "Input should be 'auto', 'none', "
                         "'any' or 'required'"})
    return _unprocessable(problems) if problems else None


def _conversation_problem(body: dict) -> web.Response | None:
    """The checks Mistral answers with 400 and its own message."""
    if body.get("reasoning_effort") not in (None, "none", "high"):
        return _error(400, f"Invalid reasoning_effort: {body['reasoning_effort']}", "invalid_request_error")
    called: set[str] = set()
    for message in body["messages"]:
        ids = [call.get("id") for call in message.get("tool_calls") or []]
        if message["role"] == "tool":
            ids.append(message.get("tool_call_id"))
        for call_id in ids:
            if not isinstance(call_id, str) or not TOOL_CALL_ID.fullmatch(call_id):
                return _error(400, f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length of 9.",
                              "invalid_request_error", code="3280")
        if message["role"] == "tool" and message["tool_call_id"] not in called:
            return _error(400, f"Unexpected tool call id {message['tool_call_id']}", "invalid_request_error")
        called.update(call.get("id") for call in message.get("tool_calls") or [])
    last = body["messages"][-1] if body["messages"] else {}
    if last.get("role") not in ("user", "tool") and not (last.get("role") == "assistant" and last.get("prefix")):
        return _error(400, f"Expected last role User or Tool (or Assistant with prefix True) for serving but got "
                           f"{last.get('role')}", "invalid_request_error")
    return None


def _extra(loc: list, value) -> dict:
    return {"type": "extra_forbidden", "loc": loc, "msg": "Extra inputs are not permitted", "input": value}


def _unprocessable(detail: list[dict]) -> web.Response:
    return _json(422, {"object": "error", "message": {"detail": detail}, "type": "invalid_request_error",
                       "param": None, "code": None})


def _error(status: int, message: str, type_: str, code: str | None = None) -> web.Response:
    return _json(status, {"object": "error", "message": message, "type": type_, "param": None, "code": code})


def _error_body_for(status: int) -> dict:
    if status == 429:
        return {"object": "error", "message": "Rate limit exceeded", "type": "rate_limited", "param": None,
                "code": "1300", "raw_status_code": 429}
    if status == 503:
        return {"object": "error", "message": "Service tier capacity exceeded for this model.",
                "type": "service_tier_capacity_exceeded", "param": None, "code": "3505"}
    return {"object": "error", "message": f"fake failure {status}", "type": "internal_server_error", "param": None,
            "code": None}


# ---------------------------------------------------------------------------------------------- answers

def _envelope(body: dict, kind: str) -> dict:
    return {"id": uuid.uuid4().hex, "object": kind, "created": int(time.time()), "model": body["model"]}


def _usage(plan: Plan) -> dict:
    usage = {"prompt_tokens": plan.prompt_tokens, "completion_tokens": plan.completion_tokens,
             "total_tokens": plan.prompt_tokens + plan.completion_tokens}
    if plan.cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": plan.cached_tokens}
    return usage


def _calls(plan: Plan) -> list[dict]:
    return [{"id": f"call{n:05d}", "function": {"name": name, "arguments": args if plan.arguments_as_object
                                                 else orjson.dumps(args).decode()}, "index": n}
            for n, (name, args) in enumerate(plan.tool_calls)]


def _finish(plan: Plan) -> str:
    return plan.finish_reason or ("tool_calls" if plan.tool_calls else "stop")


def _completion(body: dict, plan: Plan) -> dict:
    content = plan.text
    if plan.thinking:
        content = [{"type": "thinking", "thinking": [{"type": "text", "text": plan.thinking}]},
                   {"type": "text", "text": plan.text}]
    message = {"role": "assistant", "content": content, "tool_calls": _calls(plan) or None, "prefix": False}
    return {**_envelope(body, "chat.completion"),
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(plan)}], "usage": _usage(plan)}


async def _stream(request: web.Request, body: dict, plan: Plan) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    base = _envelope(body, "chat.completion.chunk")

    async def send(delta: dict, finish: str | None = None, **extra) -> None:
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        await response.write(b"data: " + orjson.dumps(chunk) + b"\n\n")

    await send({"role": "assistant", "content": ""})
    if plan.thinking:
        for word in _pieces(plan.thinking):
            await send({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": word}]}]})
    if plan.malformed_event:
        await response.write(b"data: {\"id\": \"broken\n\n")
        return response
    pieces = _pieces(plan.text) if plan.text else []
    for number, piece in enumerate(pieces[:-1]):
        await send({"content": piece})
        if plan.fail_mid_stream and number == 0:
            await response.write(b"data: " + orjson.dumps({"object": "error", "message": "Internal server error",
                                                           "type": "internal_server_error", "param": None,
                                                           "code": None}) + b"\n\n")
            return response
    for call in _calls(plan):
        await send({"tool_calls": [{**call, "index": 0}]})  # whole, and index 0 for every call
    await send({"content": pieces[-1] if pieces else ""}, _finish(plan), usage=_usage(plan))
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [words[0]] + [" " + word for word in words[1:]]


def _json(status: int, body: dict, headers: dict | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)
