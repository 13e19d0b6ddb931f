"""API errors in OpenAI's shape: {"error": {"message", "type", "code", "param"}}."""

import orjson
from starlette.responses import Response

from alltoken.providers.base import ProviderError


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, type: str, code: str | None = None,
                 param: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "code": self.code, "param": self.param}}

    def response(self, headers: dict | None = None) -> Response:
        return Response(orjson.dumps(self.body()), status_code=self.status, media_type="application/json",
                        headers={**self.headers, **(headers or {})})

    def anthropic_body(self) -> dict:
        kind = "overloaded_error" if self.code == "upstream_overloaded" else anthropic_error_type(self.status)
        return {"type": "error", "error": {"type": kind, "message": self.message}}

    def anthropic_response(self, headers: dict | None = None) -> Response:
        """The same error in Anthropic's shape, for /v1/messages."""
        return Response(orjson.dumps(self.anthropic_body()), status_code=self.status, media_type="application/json",
                        headers={**self.headers, **(headers or {})})


_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                    429: "rate_limit_error", 504: "timeout_error", 529: "overloaded_error"}


def anthropic_error_type(status: int) -> str:
    return _ANTHROPIC_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


def bad_request(message: str, param: str | None = None, code: str = "invalid_request") -> ApiError:
    return ApiError(400, message, type="invalid_request_error", code=code, param=param)


def unauthorized(message: str, code: str = "invalid_api_key") -> ApiError:
    return ApiError(401, message, type="authentication_error", code=code)


def payment_required(message: str, code: str = "insufficient_credits") -> ApiError:
    return ApiError(402, message, type="insufficient_credits", code=code)


def forbidden(message: str, code: str) -> ApiError:
    return ApiError(403, message, type="permission_error", code=code)


def not_found(message: str, param: str | None = None, code: str = "not_found") -> ApiError:
    return ApiError(404, message, type="not_found_error", code=code, param=param)


def shared_state_unavailable(what: str) -> ApiError:
    """Redis is unreachable: what needs shared state fails closed until it is back (docs/scale-out.md)."""
    return ApiError(503, f"{what} cannot be checked right now: the gateway's shared state store is unreachable; "
                         "try again shortly", type="service_unavailable", code="shared_state_unavailable",
                    headers={"Retry-After": "1"})


def too_large(message: str) -> ApiError:
    return ApiError(413, message, type="invalid_request_error", code="request_too_large")


def from_provider_error(exc: ProviderError) -> ApiError:
    """An upstream failure, already classified by the provider module, as one of ours."""
    headers = {"retry-after": str(max(1, round(exc.retry_after)))} if exc.retry_after is not None else None
    return ApiError(exc.status, exc.message, type=exc.type, code=exc.code, param=exc.param, headers=headers)


def provider_error_response(exc: ProviderError, headers: dict) -> Response:
    return from_provider_error(exc).response(headers)
