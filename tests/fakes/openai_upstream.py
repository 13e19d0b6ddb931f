"""A fake OpenAI Chat Completions server that checks requests as the real one does and answers
in its exact wire format (OpenAI's Chat Completions and Embeddings API reference).

Tests script it: `fake.plan(...)` queues the behaviour of the next requests; with nothing
queued it answers a fixed completion. Everything it received is kept in `fake.requests`.
"""

import asyncio
import time
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from .scripted import ScriptedFake

API_KEY = "sk-fake-upstream-key"


@dataclass
class Plan:
    text: str = "Hello from the fake upstream."
    prompt_tokens: int = 21
    completion_tokens: int = 7
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    status: int = 200
    error_type: str = "server_error"
    error_code: str | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0              # before answering
    chunk_delay: float = 0.0        # between stream chunks
    fail_mid_stream: bool = False   # send an error event after the first chunk
    reset: bool = False             # drop the connection without answering
    answer: object = None           # sent as the whole JSON answer (or, on a stream, as its one chunk): malformed


class FakeOpenAI(ScriptedFake[Plan]):
    def __init__(self):
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        super().__init__(app, Plan, path="/v1")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        with self.in_progress():
            return await self._answer_chat(request)

    async def _answer_chat(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
        if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
            return _error(400, "Missing required parameter: 'model' or 'messages'.", "invalid_request_error",
                          "missing_required_parameter")
        if "stream_options" in body and not body.get("stream"):
            return _error(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                          "invalid_request_error", "invalid_value")
        self._record(request, body)
        plan = self._take_plan()
        if plan.delay:
            await asyncio.sleep(plan.delay)
        if plan.reset:
            request.transport.abort()
            raise ConnectionResetError("fake upstream dropped the connection")
        if plan.status != 200:
            return _error(plan.status, f"fake failure {plan.status}", plan.error_type, plan.error_code, plan.headers)
        if body.get("stream"):
            return await self._stream(request, body, plan)
        answer = _completion(body, plan) if plan.answer is None else plan.answer
        return web.json_response(answer, dumps=lambda o: orjson.dumps(o).decode())

    async def _embeddings(self, request: web.Request) -> web.Response:
        """Vectors [index, len(text), 0.5] per input; usage one token per word."""
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        body = orjson.loads(await request.read())
        if not isinstance(body.get("model"), str) or "input" not in body:
            return _error(400, "Missing required parameter: 'model' or 'input'.", "invalid_request_error",
                          "missing_required_parameter")
        self._record(request, body)
        plan = self._take_plan()
        if plan.status != 200:
            return _error(plan.status, f"fake failure {plan.status}", plan.error_type, plan.error_code, plan.headers)
        inputs = [body["input"]] if isinstance(body["input"], str) else body["input"]
        data = [{"object": "embedding", "index": i, "embedding": [float(i), float(len(str(text))), 0.5]}
                for i, text in enumerate(inputs)]
        tokens = sum(len(str(text).split()) for text in inputs)
        return web.json_response({"object": "list", "data": list(reversed(data)), "model": body["model"],
                                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    async def _stream(self, request: web.Request, body: dict, plan: Plan) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body["model"], "system_fingerprint": None}
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        usage_field = {"usage": None} if include_usage else {}
        words = plan.text.split(" ")
        pieces = [words[0]] + [" " + w for w in words[1:]]
        first = {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                                      "finish_reason": None}], **usage_field}
        await _send(response, first)
        if plan.answer is not None:
            await _send(response, plan.answer)
            await response.write(b"data: [DONE]\n\n")
            return response
        for number, piece in enumerate(pieces):
            if plan.chunk_delay:
                await asyncio.sleep(plan.chunk_delay)
            await _send(response, {**base, "choices": [{"index": 0, "delta": {"content": piece}, "logprobs": None,
                                                         "finish_reason": None}], **usage_field})
            if plan.fail_mid_stream and number == 0:
                await _send(response, {"error": {"message": "The server had an error while processing your request.",
                                                 "type": "server_error", "param": None, "code": None}})
                return response
        await _send(response, {**base, "choices": [{"index": 0, "delta": {}, "logprobs": None,
                                                     "finish_reason": "stop"}], **usage_field})
        if include_usage:
            await _send(response, {**base, "choices": [], "usage": _usage(plan)})
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


async def _send(response: web.StreamResponse, payload: dict) -> None:
    await response.write(b"data: " + orjson.dumps(payload) + b"\n\n")


def _usage(plan: Plan) -> dict:
    return {
        "prompt_tokens": plan.prompt_tokens, "completion_tokens": plan.completion_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": plan.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": plan.reasoning_tokens, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def _completion(body: dict, plan: Plan) -> dict:
    message = {"role": "assistant", "content": plan.text, "refusal": None, "annotations": []}
    finish = "stop"
    if body.get("tools") and body.get("tool_choice") != "none" and body["messages"][-1].get("role") != "tool":
        name = body["tools"][0]["function"]["name"]
        message = {"role": "assistant", "content": None, "refusal": None, "annotations": [],
                   "tool_calls": [{"id": "call_fake1", "type": "function",
                                   "function": {"name": name, "arguments": "{\"city\":\"Paris\"}"}}]}
        finish = "tool_calls"
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "system_fingerprint": "fp_fake", "service_tier": "default",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": _usage(plan)}


def _error(status: int, message: str, type_: str, code: str | None, headers: dict | None = None) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)
