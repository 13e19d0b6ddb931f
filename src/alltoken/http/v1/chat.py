"""POST /v1/chat/completions."""

import time

from starlette.requests import Request
from starlette.responses import Response

from alltoken.errors import UpstreamError
from alltoken.http.auth import authenticate
from alltoken.http.errors import error_response
from alltoken.http.plumbing import endpoint, json_response, read_json_object, request_id, served_headers
from alltoken.http.v1.streaming import open_stream
from alltoken.http.v1.validation import validate_chat
from alltoken.providers.base import ChatCall, ChatResult
from alltoken.runtime.accounting import Outcome, finish, with_cost
from alltoken.runtime.admission import admit
from alltoken.runtime.attempts import first_success

# OpenRouter-style routing fields: ours to act on, never sent upstream.
ROUTING_FIELDS = ("provider", "models")


@endpoint
async def chat_completions(request: Request) -> Response:
    started = time.perf_counter()
    state = request.app.state.gateway
    rid = request_id(request)
    caller = await authenticate(request, state.auth)
    body, _ = await read_json_object(request)
    validate_chat(body)
    admission = await admit(state, rid, body, caller)
    context = dict(state=state, request_id=rid, caller=caller, admission=admission, started=started)
    if body.get("stream"):
        return await open_stream(upstream(body), body, rid, **context)
    try:
        result, cost = await complete(upstream(body), "chat", **context)
    except UpstreamError as exc:
        return error_response(exc, served_headers(rid, admission.route))
    result.body["id"] = rid
    result.body["model"] = admission.model.id
    result.body["usage"] = with_cost(result.body.get("usage"), result.usage, cost)
    return json_response(result.body, headers=served_headers(rid, admission.route))


def upstream(body: dict) -> dict:
    """The request without AllToken's own routing fields, which no provider knows."""
    return {k: v for k, v in body.items() if k not in ROUTING_FIELDS}


async def complete(upstream_body: dict, endpoint: str, **context) -> tuple[ChatResult, int]:
    """A non-streamed completion from the first route that answers, settled and recorded, with its
    cost. A UpstreamError (every route failed) is recorded, costs nothing, and is raised."""
    state, admission, rid = context["state"], context["admission"], context["request_id"]

    def call(candidate):
        return candidate.route.provider.chat(ChatCall({**upstream_body, "model": candidate.route.upstream_model}, rid))

    try:
        result = await first_success(state, admission, call, state.settings.upstream_timeout_seconds,
                                     output_tokens=lambda r: r.usage.completion_tokens)
    except UpstreamError as exc:
        await finish(outcome=Outcome("error", exc.status, error_code=exc.code), endpoint=endpoint, streamed=False,
                     **context)
        raise
    choices = result.body.get("choices") or [{}]
    outcome = Outcome("ok", 200, result.usage, finish_reason=choices[0].get("finish_reason"))
    return result, await finish(outcome=outcome, endpoint=endpoint, streamed=False, **context)
