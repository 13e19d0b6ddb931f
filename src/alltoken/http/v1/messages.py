"""POST /v1/messages: Anthropic's Messages API in front of every configured model.

Anthropic models get the request untranslated (messages_native.py); every other model gets it
translated to the canonical shape and back (messages_translate.py, messages_stream.py)."""

import time

from starlette.requests import Request
from starlette.responses import Response

from alltoken.errors import UpstreamError
from alltoken.http.auth import authenticate
from alltoken.http.errors import anthropic_response, bad_request
from alltoken.http.plumbing import anthropic_endpoint, json_response, read_json_object, request_id, served_headers
from alltoken.http.v1.chat import complete, upstream
from alltoken.http.v1.messages_native import native_message, native_prompt_bound, native_stream
from alltoken.http.v1.messages_stream import AnthropicWire
from alltoken.http.v1.messages_translate import to_chat_request, to_message
from alltoken.http.v1.streaming import open_stream
from alltoken.http.v1.validation import validate_count_tokens, validate_messages
from alltoken.money import units_to_usd_number
from alltoken.providers.anthropic.client import AnthropicProvider
from alltoken.routing.preferences import split_variant
from alltoken.runtime.admission import admissible_routes, admit, admit_bounded, resolve_model


@anthropic_endpoint
async def messages(request: Request) -> Response:
    started = time.perf_counter()
    state = request.app.state.gateway
    rid = request_id(request)
    caller = await authenticate(request, state.auth)
    body, _ = await read_json_object(request)
    validate_messages(body)
    model = resolve_model(state, split_variant(body["model"])[0], caller)
    if isinstance(admissible_routes(model, caller)[0].provider, AnthropicProvider):
        return await _native(request, body, model, caller, rid, started)
    chat = to_chat_request(body)
    admission = await admit(state, rid, chat, caller)
    context = dict(state=state, request_id=rid, caller=caller, admission=admission, started=started)
    if chat.get("stream"):
        return await open_stream(upstream(chat), chat, rid, wire_for=lambda public: AnthropicWire(rid, public),
                                 **context)
    try:
        result, cost = await complete(upstream(chat), "messages", **context)
    except UpstreamError as exc:
        return anthropic_response(exc, served_headers(rid, admission.route, anthropic=True))
    headers = served_headers(rid, admission.route, anthropic=True)
    return json_response(to_message(result.body, result.usage, units_to_usd_number(cost), rid, admission.model.id),
                         headers=headers)


async def _native(request: Request, body: dict, model, caller, rid: str, started: float) -> Response:
    """An Anthropic model: pass the request through untranslated, for full fidelity."""
    state = request.app.state.gateway
    prompt_bound = min(native_prompt_bound(body), model.context_length or 10**9)
    admission = await admit_bounded(state, rid, body, caller, model, prompt_bound, body["max_tokens"])
    # The pass-through speaks only Anthropic's API: it falls back across Anthropic routes only.
    admission.candidates = [c for c in admission.candidates if isinstance(c.route.provider, AnthropicProvider)]
    admission.route = admission.candidates[0].route
    context = dict(state=state, request_id=rid, caller=caller, admission=admission, started=started)
    serve = native_stream if body.get("stream") else native_message
    return await serve(body, request.headers.get("anthropic-beta"), **context)


@anthropic_endpoint
async def count_tokens(request: Request) -> Response:
    """POST /v1/messages/count_tokens: exact counts come from Anthropic, so only its models have them."""
    state = request.app.state.gateway
    caller = await authenticate(request, state.auth)
    body, _ = await read_json_object(request)
    validate_count_tokens(body)
    model = resolve_model(state, body["model"], caller)
    route = admissible_routes(model, caller)[0]
    if not isinstance(route.provider, AnthropicProvider):
        raise bad_request(f"token counting is available for Anthropic models; {model.id} is served by "
                          f"{route.provider.id}", param="model")
    counted = await route.provider.native_count_tokens({**body, "model": route.upstream_model},
                                                       request.headers.get("anthropic-beta"))
    return json_response(counted, headers=served_headers(request_id(request), route, anthropic=True))
