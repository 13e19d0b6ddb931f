"""Request body limits, enforced while the body arrives, on every route (a pure ASGI middleware).

A declared Content-Length over the route's limit is refused before a byte is read; a body without one
(chunked) is counted as it comes and refused at the first byte over the limit, so no route ever holds more
than its limit in memory. Before: a 300 MB unauthenticated /api login took the server to 1.1 GB, and a
300 MB chunked /v1 body to 813 MB, because bodies were read whole before any check.

The refusal is a 413 in the route's error shape (Anthropic's on /v1/messages, else the `{"error": ...}` one
/v1 and /api share), sent by this middleware; the application then gets BodyTooLarge from `receive` (a
TooLarge, so handlers treat it as a refusal, not a crash), and whatever it answers to that is dropped.
"""

from alltoken.config import ImageSettings
from alltoken.errors import TooLarge
from alltoken.http.errors import error_response
from alltoken.http.plumbing import MAX_BODY_BYTES

API_BODY_BYTES = 1024 * 1024   # the management API takes small JSON documents only
_CONTENT_LENGTH = b"content-length"


class BodyTooLarge(TooLarge):
    """The 413; raised from `receive` once the body passed its limit (when it has gone out already)."""


class BodyLimitMiddleware:
    def __init__(self, app, images: ImageSettings):
        self.app = app
        # Multipart uploads: the whole body's limit (images.md); each image's own is checked when it is read.
        self._uploads = {"/v1/images/edits": images.max_request_bytes,
                         "/v1/images/variations": images.max_request_bytes}

    def limit(self, path: str) -> int:
        if path == "/api" or path.startswith("/api/"):
            return API_BODY_BYTES
        return self._uploads.get(path, MAX_BODY_BYTES)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            return await _refuse(scope, send, BodyTooLarge(f"request body is {declared} bytes; the limit is "
                                                           f"{limit}"))
        received = 0
        started = refused = False

        async def counting_receive():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refusal = BodyTooLarge(f"request body is over the limit of {limit} bytes")
                    if not (started or refused):
                        await _refuse(scope, send, refusal)
                    refused = True
                    raise refusal
            return message

        async def send_unless_refused(message):
            nonlocal started
            if not refused:
                started = True
                await send(message)

        try:
            await self.app(scope, counting_receive, send_unless_refused)
        except BodyTooLarge:
            pass   # answered already


def _declared_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == _CONTENT_LENGTH:
            return int(value) if value.isdigit() else None
    return None


async def _refuse(scope, send, error: BodyTooLarge) -> None:
    """The 413 in the route's error shape; `connection: close` so the server stops taking in the rest."""
    anthropic = scope["path"] == "/v1/messages" or scope["path"].startswith("/v1/messages/")
    response = error_response(error, anthropic=anthropic)
    response.headers["connection"] = "close"
    await send({"type": "http.response.start", "status": response.status_code,
                "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
