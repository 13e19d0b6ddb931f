"""POST /v1/messages: Anthropic's Messages API in front of every configured model."""

import time

from starlette.requests import Request
from starlette.responses import Response

from ..billing.money import units_to_usd_number
from ..providers.base import ChatCall, ProviderError
from .accounting import Outcome, finish
from .admission import admit
from .auth import authenticate
from .errors import from_provider_error
from .http import anthropic_endpoint, json_response, read_json_object, request_id
from .messages_stream import AnthropicWire
from .messages_translate import to_chat_request, to_message
from .streaming import open_stream
from .validation import validate_chat


@anthropic_endpoint
async def messages(request: Request) -> Response:
    started = time.perf_counter()
    state = request.app.state.gateway
    rid = request_id(request)
    caller = await authenticate(request, state.auth)
    body, _ = await read_json_object(request)
    chat = to_chat_request(body)
    validate_chat(chat)
    admission = await admit(state, rid, chat, caller)
    route = admission.route
    headers = {"x-request-id": rid, "x-alltoken-provider": route.provider.id, "request-id": rid}
    call = ChatCall({**chat, "model": route.upstream_model}, rid)
    context = dict(state=state, request_id=rid, caller=caller, admission=admission, started=started)
    if chat.get("stream"):
        return await open_stream(call, chat, headers, wire=AnthropicWire(rid, admission.model.id), **context)
    try:
        result = await route.provider.chat(call)
    except ProviderError as exc:
        finish(outcome=Outcome("error", exc.status, error_code=exc.code), endpoint="messages", streamed=False,
               **context)
        return from_provider_error(exc).anthropic_response(headers)
    choices = result.body.get("choices") or [{}]
    outcome = Outcome("ok", 200, result.usage, finish_reason=choices[0].get("finish_reason"))
    cost = finish(outcome=outcome, endpoint="messages", streamed=False, **context)
    return json_response(to_message(result.body, result.usage, units_to_usd_number(cost), rid, admission.model.id),
                         headers=headers)
