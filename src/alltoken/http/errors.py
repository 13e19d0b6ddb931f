"""Our errors over HTTP: one table gives each error class its status, its OpenAI error `type` and its
Anthropic error type, and renders it in OpenAI's shape ({"error": {"message", "type", "code", "param"}},
which the management API shares) or Anthropic's ({"type": "error", "error": {"type", "message"}})."""

from dataclasses import dataclass

import orjson
from starlette.responses import Response

from alltoken.errors import (
    AllTokenError,
    BillingUnavailable,
    Conflict,
    InvalidRequest,
    NotFound,
    PaymentRequired,
    PermissionDenied,
    RateLimited,
    SharedStateUnavailable,
    TooLarge,
    Unauthenticated,
    UpstreamError,
)


class ApiError(AllTokenError):
    """A refusal that only HTTP has (an unknown endpoint, a method not allowed, a crash, a framework's
    error, a management API answer with a status of its own): it carries its classification itself."""

    def __init__(self, status: int, message: str, *, type: str, code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, param=param)
        self.code = code
        self.status = status
        self.type = type
        self.headers = headers or {}


@dataclass(frozen=True, slots=True)
class Shape:
    status: int
    type: str             # OpenAI's error type, in the {"error": ...} body
    anthropic_type: str   # Anthropic's, in /v1/messages bodies and stream events


# A class not listed takes its nearest listed ancestor's row; AllTokenError's is the fallback.
SHAPES: dict[type[AllTokenError], Shape] = {
    InvalidRequest: Shape(400, "invalid_request_error", "invalid_request_error"),
    Unauthenticated: Shape(401, "authentication_error", "authentication_error"),
    PaymentRequired: Shape(402, "insufficient_credits", "billing_error"),
    PermissionDenied: Shape(403, "permission_error", "permission_error"),
    NotFound: Shape(404, "not_found_error", "not_found_error"),
    Conflict: Shape(409, "invalid_request_error", "invalid_request_error"),
    TooLarge: Shape(413, "invalid_request_error", "request_too_large"),
    RateLimited: Shape(429, "rate_limit_error", "rate_limit_error"),   # OpenAI type: the limit's kind
    SharedStateUnavailable: Shape(503, "service_unavailable", "api_error"),
    BillingUnavailable: Shape(503, "server_error", "api_error"),
    AllTokenError: Shape(500, "server_error", "api_error"),
}

# Errors that carry their own status (an upstream's, or an HTTP-only one): Anthropic's type by status.
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                    429: "rate_limit_error", 504: "timeout_error", 529: "overloaded_error"}


def anthropic_error_type(status: int) -> str:
    return _ANTHROPIC_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


def shape(error: AllTokenError) -> Shape:
    if isinstance(error, (UpstreamError, ApiError)):
        kind = "overloaded_error" if error.code == "upstream_overloaded" else anthropic_error_type(error.status)
        return Shape(error.status, error.type, kind)
    row = next(SHAPES[cls] for cls in type(error).__mro__ if cls in SHAPES)
    if isinstance(error, RateLimited):
        return Shape(row.status, error.limit, row.anthropic_type)
    return row


def error_headers(error: AllTokenError) -> dict[str, str]:
    headers = {"retry-after": str(max(1, round(error.retry_after)))} if error.retry_after is not None else {}
    if isinstance(error, RateLimited):
        headers.update(error.standing)
    if isinstance(error, ApiError):
        headers.update(error.headers)
    return headers


def error_body(error: AllTokenError) -> dict[str, object]:
    return {"error": {"message": error.message, "type": shape(error).type, "code": error.code,
                      "param": error.param}}


def stream_error(error: AllTokenError) -> dict[str, object]:
    """The error object a stream ends with, after its first bytes (no parameter is at fault by then)."""
    return {"message": error.message, "type": shape(error).type, "code": error.code, "param": None}


def anthropic_body(error: AllTokenError) -> dict[str, object]:
    return {"type": "error", "error": {"type": shape(error).anthropic_type, "message": error.message}}


def error_response(error: AllTokenError, headers: dict[str, str] | None = None, *,
                   anthropic: bool = False) -> Response:
    """The error in OpenAI's shape (the management API's too), or in Anthropic's for /v1/messages."""
    body = anthropic_body(error) if anthropic else error_body(error)
    return Response(orjson.dumps(body), status_code=shape(error).status, media_type="application/json",
                    headers={**error_headers(error), **(headers or {})})


def anthropic_response(error: AllTokenError, headers: dict[str, str] | None = None) -> Response:
    return error_response(error, headers, anthropic=True)


def bad_request(message: str, param: str | None = None, code: str = "invalid_request") -> InvalidRequest:
    return InvalidRequest(message, param=param, code=code)


def unauthorized(message: str, code: str = "invalid_api_key") -> Unauthenticated:
    return Unauthenticated(message, code=code)


def payment_required(message: str, code: str = "insufficient_credits") -> PaymentRequired:
    return PaymentRequired(message, code=code)


def forbidden(message: str, code: str) -> PermissionDenied:
    return PermissionDenied(message, code=code)


def not_found(message: str, param: str | None = None, code: str = "not_found") -> NotFound:
    return NotFound(message, param=param, code=code)


def too_large(message: str) -> TooLarge:
    return TooLarge(message)
