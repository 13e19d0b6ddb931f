"""No hold outlives its request: every admitted request is settled or released exactly once.

Admission (runtime/admission.py) registers a request's exchange in the gateway's `admissions`
(runtime/exchange.py: OpenAdmissions) as soon as its credit hold is taken, and
`finish` (runtime/accounting.py) takes it out when it settles or releases the hold. The middleware
wraps every request: when the response has ended, however it ended (sent, a crash in a handler or a
translator, the task cancelled, the client gone before or during a stream), whatever is still
registered for the request is released and recorded as a failed request, which costs nothing. So
no endpoint has to get its error paths right for the hold to come back.

Its cost on the request path: one dict insert and one dict pop per paid request, and one more
ASGI layer (a closure per request, a check per response message): about 1.8 µs a request, measured
by driving the ASGI app in process (11.0 µs without the layer, 12.8 µs with it, on the 2-core box).
"""

import logging
from typing import Any

from alltoken.runtime.accounting import Outcome, finish
from alltoken.runtime.gateway import Gateway
from alltoken.runtime.scope import REQUEST_ID_KEY, ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("alltoken.billing")

CLIENT_GONE = 499       # nginx's "client closed request", as streams the client left are recorded


class SettleOnExitMiddleware:
    """Releases (and records as failed) the hold of a request that ended without settling it."""

    def __init__(self, app: ASGIApp, gateway: Gateway):
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        response: dict[str, Any] = {}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["streamed"] = any(name == b"content-type" and value.startswith(b"text/event-stream")
                                           for name, value in message.get("headers", ()))
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                response["complete"] = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            await self._close_abandoned(scope[REQUEST_ID_KEY], scope["path"], response)

    async def _close_abandoned(self, request_id: str, path: str, response: dict[str, Any]) -> None:
        exchange = self.gateway.admissions.get(request_id)
        if exchange is None:
            return
        outcome = _failure(response)
        log.warning("request %s ended without settling its hold (%s): released, recorded as failed",
                    request_id, outcome.error_code)
        # Recorded as the client saw it: the endpoint of its path, streamed if a stream had started.
        exchange.endpoint, exchange.streamed = endpoint_name(path), bool(response.get("streamed"))
        await finish(self.gateway, exchange, outcome)


def _failure(response: dict[str, Any]) -> Outcome:
    """How a request that never settled is recorded (at no cost), from what reached the client."""
    status = response.get("status")
    if status is None or (status < 400 and not response.get("complete")):   # no answer yet, or a cut stream
        return Outcome("error", CLIENT_GONE, error_code="client_disconnected")
    if status < 400:   # answered in full, yet never settled: a bug of ours, which the client does not pay for
        return Outcome("error", status, error_code="not_settled")
    return Outcome("error", status, error_code="internal_error" if status >= 500 else "request_failed")


def endpoint_name(path: str) -> str:
    """The usage record's `endpoint` for a paid path: chat, messages, embeddings, images.generations..."""
    name = path.removeprefix("/v1/").strip("/")
    return "chat" if name == "chat/completions" else name.replace("/", ".")
