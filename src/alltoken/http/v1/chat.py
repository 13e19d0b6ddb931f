"""POST /v1/chat/completions."""

import time
from collections.abc import Awaitable

from starlette.requests import Request
from starlette.responses import Response

from alltoken.errors import UpstreamError
from alltoken.http.auth import authenticate
from alltoken.http.errors import error_response
from alltoken.http.gateway import gateway_of
from alltoken.http.plumbing import endpoint, json_response, read_json_object, request_id
from alltoken.http.v1.streaming import relay_stream
from alltoken.http.v1.validation import validate_chat
from alltoken.providers.base import ChatCall, ChatResult
from alltoken.routing.router import Candidate
from alltoken.runtime import lifecycle
from alltoken.runtime.accounting import Outcome, with_cost
from alltoken.runtime.admission import admit
from alltoken.runtime.exchange import Body, Exchange
from alltoken.runtime.gateway import Gateway

# OpenRouter-style routing fields: ours to act on, never sent upstream.
ROUTING_FIELDS = ("provider", "models")


@endpoint
async def chat_completions(request: Request) -> Response:
    started = time.perf_counter()
    gateway = gateway_of(request)
    caller = await authenticate(request, gateway.auth)
    body, _ = await read_json_object(request)
    validate_chat(body)
    exchange = Exchange(request_id(request), caller, started, "chat", streamed=bool(body.get("stream")))
    await admit(gateway, exchange, body)
    if exchange.streamed:
        return await relay_stream(gateway, exchange, upstream(body), body)
    try:
        result, cost = await complete(gateway, exchange, upstream(body))
    except UpstreamError as exc:
        return error_response(exc, exchange.served_headers())
    result.body["id"] = exchange.request_id
    result.body["model"] = exchange.model.id
    result.body["usage"] = with_cost(result.body.get("usage"), result.usage, cost)
    return json_response(result.body, headers=exchange.served_headers())


def upstream(body: Body) -> Body:
    """The request without AllToken's own routing fields, which no provider knows."""
    return {k: v for k, v in body.items() if k not in ROUTING_FIELDS}


async def complete(gateway: Gateway, exchange: Exchange, upstream_body: Body) -> tuple[ChatResult, int]:
    """A non-streamed completion from the first route that answers, settled and recorded, with its
    cost. A UpstreamError (every route failed) is recorded, costs nothing, and is raised."""
    def call(candidate: Candidate) -> Awaitable[ChatResult]:
        route = candidate.route
        return route.provider.chat(ChatCall({**upstream_body, "model": route.upstream_model}, exchange.request_id))

    def outcome(result: ChatResult) -> Outcome:
        choices = result.body.get("choices") or [{}]
        return Outcome("ok", 200, result.usage, finish_reason=choices[0].get("finish_reason"))

    return await lifecycle.answer(gateway, exchange, call, outcome,
                                  output_tokens=lambda r: r.usage.completion_tokens)
