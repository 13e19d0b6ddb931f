"""HTTP plumbing shared by the data-plane endpoints: request ids, JSON bodies and responses,
error shape for everything, including 404s and crashes."""

import logging
import traceback
from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from alltoken.errors import AllTokenError
from alltoken.http.errors import ApiError, anthropic_response, bad_request, error_response, not_found, too_large
from alltoken.ids import new_request_id
from alltoken.runtime.scope import REQUEST_ID_KEY, RESPONSE_HEADERS_KEY

log = logging.getLogger("alltoken.http")

GATEWAY_PROVIDER = "alltoken"
GATEWAY_PROVIDER_HEADER = GATEWAY_PROVIDER.encode()
MAX_BODY_BYTES = 32 * 1024 * 1024


def request_id(request: Request) -> str:
    return request.scope[REQUEST_ID_KEY]


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json", headers=headers)


async def read_json_object(request: Request, limit: int = MAX_BODY_BYTES) -> tuple[dict, int]:
    """The body as a dict, and its size in bytes. Clear 4xx for anything else."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(f"request body is {declared} bytes; the limit is {limit}")
    raw = await request.body()
    if len(raw) > limit:
        raise too_large(f"request body is {len(raw)} bytes; the limit is {limit}")
    if not raw:
        raise bad_request("request body is empty; send a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return body, len(raw)


Handler = Callable[[Request], Awaitable[Response]]


def endpoint(handler: Handler) -> Handler:
    """Every failure becomes an error in OpenAI's shape; a crash is logged without its message,
    which could quote request content."""
    return _guarded(handler, error_response)


def anthropic_endpoint(handler: Handler) -> Handler:
    """The same, with errors in Anthropic's shape."""
    return _guarded(handler, anthropic_response)


def _guarded(handler: Handler, render: Callable[[AllTokenError], Response]) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except AllTokenError as exc:
            return render(exc)
        except Exception as exc:
            log_crash(exc, request.url.path)
            return render(internal_error())

    wrapped.__name__ = handler.__name__
    return wrapped


def log_crash(exc: BaseException, where: str) -> None:
    """A crash of our own code, logged by type and frames only: its message could quote request content."""
    log.error("unhandled %s in %s\n%s", type(exc).__name__, where, _frames(exc))


def internal_error() -> ApiError:
    return ApiError(500, "internal error; the request was not billed", type="server_error", code="internal_error")


def _frames(exc: BaseException) -> str:
    return "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))


class RequestContextMiddleware:
    """Gives each request an id, and makes sure every response names it and who served it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = new_request_id()
        scope[REQUEST_ID_KEY] = rid

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name == b"x-request-id" for name, _ in headers):  # handlers that served set both
                    headers.append((b"x-request-id", rid.encode()))
                    if not any(name == b"x-alltoken-provider" for name, _ in headers):
                        headers.append((b"x-alltoken-provider", GATEWAY_PROVIDER_HEADER))
                headers.extend(scope.get(RESPONSE_HEADERS_KEY, ()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def not_found_handler(request: Request, exc) -> Response:
    status = getattr(exc, "status_code", 404)
    if status == 405:
        return error_response(ApiError(405, f"{request.method} is not allowed on {request.url.path}",
                                       type="invalid_request_error", code="method_not_allowed"))
    return error_response(not_found(f"no such endpoint: {request.method} {request.url.path}", code="unknown_endpoint"))


async def server_error_handler(request: Request, exc: Exception) -> Response:
    log_crash(exc, request.url.path)
    return error_response(internal_error())
