"""What the gateway keeps on an ASGI request's scope: the request id, and headers for whatever
response the request ends with. Plain dict access, so the runtime's middlewares and the HTTP
surface share it without the runtime knowing any web framework."""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

REQUEST_ID_KEY = "alltoken.request_id"
RESPONSE_HEADERS_KEY = "alltoken.response_headers"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def request_id_of(scope: Scope) -> str:
    request_id: str = scope[REQUEST_ID_KEY]
    return request_id


def add_response_header(scope: Scope, name: bytes, value: bytes) -> None:
    """A header for whatever response this request ends with, success or error (a notice such as a
    terms-of-service warning, found while checking the caller)."""
    scope.setdefault(RESPONSE_HEADERS_KEY, []).append((name, value))
