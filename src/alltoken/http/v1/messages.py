"""POST /v1/messages: Anthropic's Messages API in front of every configured model.

Anthropic models get the request untranslated (messages_native.py); every other model gets it
translated to the canonical shape and back (messages_translate.py, messages_stream.py)."""

import time

from starlette.requests import Request
from starlette.responses import Response

from alltoken.errors import UpstreamError
from alltoken.http.auth import authenticate
from alltoken.http.errors import anthropic_response, bad_request
from alltoken.http.gateway import gateway_of
from alltoken.http.plumbing import anthropic_endpoint, json_response, read_json_object, request_id
from alltoken.http.v1.chat import complete, upstream
from alltoken.http.v1.messages_native import native_message, native_prompt_bound, native_stream
from alltoken.http.v1.messages_stream import AnthropicWire
from alltoken.http.v1.messages_translate import to_chat_request, to_message
from alltoken.http.v1.streaming import relay_stream
from alltoken.http.v1.validation import validate_count_tokens, validate_messages
from alltoken.money import units_to_usd_number
from alltoken.providers.anthropic.client import AnthropicProvider
from alltoken.routing.models import PublicModel, Route
from alltoken.routing.preferences import split_variant
from alltoken.runtime.admission import admissible_routes, admit, admit_bounded, resolve_model
from alltoken.runtime.exchange import Body, Exchange, served_headers
from alltoken.runtime.gateway import Gateway


@anthropic_endpoint
async def messages(request: Request) -> Response:
    started = time.perf_counter()
    gateway = gateway_of(request)
    caller = await authenticate(request, gateway.auth)
    body, _ = await read_json_object(request)
    validate_messages(body)
    model = resolve_model(gateway, split_variant(body["model"])[0], caller)
    if isinstance(admissible_routes(model, caller)[0].provider, AnthropicProvider):
        exchange = Exchange(request_id(request), caller, started, "messages", streamed=bool(body.get("stream")))
        return await _native(request, gateway, exchange, body, model)
    chat = to_chat_request(body)
    exchange = Exchange(request_id(request), caller, started, "messages", streamed=bool(chat.get("stream")))
    await admit(gateway, exchange, chat)
    rid = exchange.request_id
    if exchange.streamed:
        return await relay_stream(gateway, exchange, upstream(chat), chat,
                                  wire_for=lambda public: AnthropicWire(rid, public))
    try:
        result, cost = await complete(gateway, exchange, upstream(chat))
    except UpstreamError as exc:
        return anthropic_response(exc, exchange.served_headers(anthropic=True))
    return json_response(to_message(result.body, result.usage, units_to_usd_number(cost), rid, exchange.model.id),
                         headers=exchange.served_headers(anthropic=True))


async def _native(request: Request, gateway: Gateway, exchange: Exchange, body: Body, model: PublicModel) -> Response:
    """An Anthropic model: pass the request through untranslated, for full fidelity."""
    prompt_bound = min(native_prompt_bound(body), model.context_length or 10**9)
    # The pass-through speaks only Anthropic's API: it falls back across Anthropic routes only.
    await admit_bounded(gateway, exchange, body, model, prompt_bound, body["max_tokens"], serves=_anthropic,
                        name_first=True)
    serve = native_stream if exchange.streamed else native_message
    return await serve(gateway, exchange, body, request.headers.get("anthropic-beta"))


def _anthropic(route: Route) -> bool:
    return isinstance(route.provider, AnthropicProvider)


@anthropic_endpoint
async def count_tokens(request: Request) -> Response:
    """POST /v1/messages/count_tokens: exact counts come from Anthropic, so only its models have them."""
    gateway = gateway_of(request)
    caller = await authenticate(request, gateway.auth)
    body, _ = await read_json_object(request)
    validate_count_tokens(body)
    model = resolve_model(gateway, body["model"], caller)
    route = admissible_routes(model, caller)[0]
    if not isinstance(route.provider, AnthropicProvider):
        raise bad_request(f"token counting is available for Anthropic models; {model.id} is served by "
                          f"{route.provider.id}", param="model")
    counted = await route.provider.native_count_tokens({**body, "model": route.upstream_model},
                                                       request.headers.get("anthropic-beta"))
    return json_response(counted, headers=served_headers(request_id(request), route, anthropic=True))
