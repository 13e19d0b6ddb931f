"""A fake Meta Llama API, OpenAI-compatible endpoint `/compat/v1/chat/completions`
(Meta's Llama API documentation, "OpenAI compatibility").

It checks requests as the real one does: bearer auth, a JSON body, `model` and `messages`, and, for streams,
`Accept: text/event-stream` (400 without it, as the API answers). `response_format` is taken only as
`json_schema`. It answers in OpenAI's shapes with the native API's habits: tool calls without `type`, usage
optionally as the native `metrics` list, and optionally a 307 redirect first (as the API has answered streams).

Tests script it with `fake.plan(...)`; everything it accepted is kept in `fake.requests`.
"""

import time
import uuid
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from .scripted import ScriptedFake

API_KEY = "llama-fake-key"
PATH = "/compat/v1/chat/completions"


@dataclass
class Plan:
    text: str = "Hello from the fake Llama."
    prompt_tokens: int = 23
    completion_tokens: int = 8
    tool_calls: list[tuple[str, dict]] = field(default_factory=list)
    usage_as_metrics: bool = False      # the native API's `metrics` list instead of `usage`
    redirect: bool = False              # answer 307 to the same path with a trailing slash first
    status: int = 200
    error_body: dict | None = None
    headers: dict = field(default_factory=dict)
    fail_mid_stream: bool = False
    malformed_event: bool = False


class FakeLlama(ScriptedFake[Plan]):
    def __init__(self):
        app = web.Application()
        app.router.add_post(PATH, self._chat)
        app.router.add_post(PATH + "/", self._chat)
        super().__init__(app, Plan, path="/compat/v1")
        self.redirects = 0

    def reset(self) -> None:
        super().reset()
        self.redirects = 0

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "Invalid API key", "authentication_error")
        if request.headers.get("Content-Type", "").split(";")[0] != "application/json":
            return _problem(400, "Unsupported content type")
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _problem(400, "Request body is not valid JSON")
        if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
            return _error(400, "'model' and 'messages' are required", "invalid_request_error")
        if body.get("stream") and "text/event-stream" not in request.headers.get("Accept", ""):
            return _error(400, "Streaming requests must accept text/event-stream", "invalid_request_error")
        response_format = body.get("response_format") or {}
        if response_format.get("type") not in (None, "text", "json_schema"):
            return _problem(400, f"response_format type {response_format.get('type')} is not supported")
        if self._peek_plan().redirect and not request.path.endswith("/"):
            self.redirects += 1   # the plan stays queued for the redirected request
            raise web.HTTPTemporaryRedirect(PATH + "/")
        self._record(request, body)
        plan = self._take_plan()
        if plan.status != 200:
            return _json(plan.status, plan.error_body or {"error": {"message": f"fake failure {plan.status}",
                                                                    "type": "server_error", "code": None}},
                         plan.headers)
        if body.get("stream"):
            return await _stream(request, body, plan)
        return _json(200, _completion(body, plan))


def _usage(plan: Plan) -> dict:
    return {"prompt_tokens": plan.prompt_tokens, "completion_tokens": plan.completion_tokens,
            "total_tokens": plan.prompt_tokens + plan.completion_tokens}


def _metrics(plan: Plan) -> list[dict]:
    return [{"metric": "num_completion_tokens", "value": plan.completion_tokens, "unit": "tokens"},
            {"metric": "num_prompt_tokens", "value": plan.prompt_tokens, "unit": "tokens"},
            {"metric": "num_total_tokens", "value": plan.prompt_tokens + plan.completion_tokens, "unit": "tokens"}]


def _accounting(plan: Plan) -> dict:
    return {"metrics": _metrics(plan)} if plan.usage_as_metrics else {"usage": _usage(plan)}


def _completion(body: dict, plan: Plan) -> dict:
    calls = [{"id": f"call_{uuid.uuid4().hex[:12]}",  # no "type", as in the native API
              "function": {"name": name, "arguments": orjson.dumps(args).decode()}} for name, args in plan.tool_calls]
    message = {"role": "assistant", "content": None if calls else plan.text, "tool_calls": calls or None}
    return {"id": uuid.uuid4().hex, "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
            **_accounting(plan)}


async def _stream(request: web.Request, body: dict, plan: Plan) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    base = {"id": uuid.uuid4().hex, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body["model"]}

    async def send(payload: dict) -> None:
        await response.write(b"data: " + orjson.dumps({**base, **payload}) + b"\n\n")

    async def delta(content: dict, finish: str | None = None) -> None:
        await send({"choices": [{"index": 0, "delta": content, "finish_reason": finish}]})

    await delta({"role": "assistant", "content": ""})
    if plan.malformed_event:
        await response.write(b"data: {\"choices\": [\n\n")
        return response
    for number, word in enumerate(plan.text.split(" ") if not plan.tool_calls else []):
        await delta({"content": word if number == 0 else " " + word})
        if plan.fail_mid_stream:
            await response.write(b"data: " + orjson.dumps({"error": {"message": "Internal error"}}) + b"\n\n")
            return response
    for index, (name, args) in enumerate(plan.tool_calls):
        arguments = orjson.dumps(args).decode()
        await delta({"tool_calls": [{"index": index, "id": f"call_{uuid.uuid4().hex[:12]}",
                                     "function": {"name": name, "arguments": ""}}]})
        half = len(arguments) // 2
        for fragment in (arguments[:half], arguments[half:]):
            await delta({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    await delta({}, "tool_calls" if plan.tool_calls else "stop")
    if (body.get("stream_options") or {}).get("include_usage") or plan.usage_as_metrics:
        await send({"choices": [], **_accounting(plan)})
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def _error(status: int, message: str, type_: str) -> web.Response:
    return _json(status, {"error": {"message": message, "type": type_, "code": None, "param": None}})


def _problem(status: int, detail: str) -> web.Response:
    return _json(status, {"title": "Bad Request", "detail": detail, "status": status})


def _json(status: int, body: dict, headers: dict | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)
