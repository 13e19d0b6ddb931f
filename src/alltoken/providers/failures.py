"""The one table of upstream failures: what category an upstream's HTTP status (or transport
failure, or error event) falls in, and what each category becomes for the client and the router
(status, error type and code, whether another route may be tried, whether Retry-After counts).

Provider modules read their upstream's own error shape (a JSON body, an exception name, an RPC
status) into a `Failure` and build the error with `upstream_failure`; they hold no status rules.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from alltoken.errors import UpstreamError


class Failure(Enum):
    BAD_REQUEST = "bad_request"          # the caller's mistake: the upstream's status and message are kept
    AUTH = "auth"                        # our credentials for the upstream: not the caller's business
    QUOTA = "quota"                      # our account there is out of quota or cannot be billed
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    MODEL_NOT_READY = "model_not_ready"
    UNAVAILABLE = "unavailable"          # cannot serve this account or region now
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    REFUSED = "refused"                  # any other answer: not worth another try
    STREAM_ERROR = "stream_error"        # a failure after the stream started
    UNREACHABLE = "unreachable"
    MALFORMED = "malformed"              # an answer we cannot read


@dataclass(frozen=True, slots=True)
class Category:
    status: int | None       # ours; None keeps the upstream's own
    code: str | None         # None keeps the upstream's own
    retryable: bool          # another route (or another try) may succeed
    message: str             # the default, with {provider} and {status}
    type: str = "upstream_error"
    waits: bool = False      # the upstream's Retry-After applies


CATEGORIES: Mapping[Failure, Category] = {
    Failure.BAD_REQUEST: Category(None, None, False, "provider {provider} rejected the request (HTTP {status})",
                                  type="invalid_request_error"),
    Failure.AUTH: Category(502, "upstream_auth", False, "provider {provider} refused AllToken's credentials"),
    Failure.QUOTA: Category(502, "upstream_quota_exhausted", False, "provider {provider} account is out of quota"),
    Failure.RATE_LIMITED: Category(429, "upstream_rate_limited", True, "provider {provider} is rate limiting requests",
                                   type="rate_limit_error", waits=True),
    Failure.OVERLOADED: Category(503, "upstream_overloaded", True, "provider {provider} is overloaded", waits=True),
    Failure.MODEL_NOT_READY: Category(503, "upstream_model_not_ready", True,
                                      "provider {provider} is temporarily unavailable", waits=True),
    Failure.UNAVAILABLE: Category(502, "upstream_unavailable", True,
                                  "provider {provider} cannot serve this account or region now"),
    Failure.TIMEOUT: Category(504, "upstream_timeout", True, "provider {provider} timed out"),
    Failure.SERVER_ERROR: Category(502, "upstream_error", True, "provider {provider} failed with HTTP {status}",
                                   waits=True),
    Failure.REFUSED: Category(502, "upstream_error", False, "provider {provider} answered HTTP {status}"),
    Failure.STREAM_ERROR: Category(502, "upstream_stream_error", True, "provider {provider} failed mid-stream"),
    Failure.UNREACHABLE: Category(502, "upstream_unreachable", True, "could not reach provider {provider}"),
    Failure.MALFORMED: Category(502, "upstream_malformed", True, "provider {provider} sent a malformed response"),
}

CLIENT_ERROR_STATUSES = frozenset((400, 404, 409, 413, 422))

# What an HTTP status means when the upstream's body says nothing more specific. A provider whose
# API gives a status another meaning passes it in `overrides` (503 is "overloaded" at Gemini and
# Mistral, but a plain server error at OpenAI).
STATUS_FAILURES: Mapping[int, Failure] = {
    **{status: Failure.BAD_REQUEST for status in CLIENT_ERROR_STATUSES},
    401: Failure.AUTH, 403: Failure.AUTH,
    402: Failure.QUOTA,
    408: Failure.SERVER_ERROR,
    429: Failure.RATE_LIMITED,
    504: Failure.TIMEOUT,
    529: Failure.OVERLOADED,      # Anthropic's "overloaded"
}


def failure_of_status(status: int, overrides: Mapping[int, Failure] | None = None) -> Failure:
    if overrides and status in overrides:
        return overrides[status]
    if status in STATUS_FAILURES:
        return STATUS_FAILURES[status]
    return Failure.SERVER_ERROR if status >= 500 else Failure.REFUSED


def upstream_failure(failure: Failure, provider_id: str, *, status: int | None = None, message: str | None = None,
                     code: str | None = None, param: str | None = None, retry_after: float | None = None,
                     retryable: bool | None = None) -> UpstreamError:
    """The error for one upstream failure. `status`, `code` and `param` are the upstream's; `message`
    replaces the table's (a bad request keeps the upstream's own when it gave one); `retryable`
    overrides the table where a caller knows better."""
    category = CATEGORIES[failure]
    text = message or category.message.format(provider=provider_id, status=status)
    return UpstreamError(category.status or status or 502, text, type=category.type,
                         code=category.code or code, param=param if failure is Failure.BAD_REQUEST else None,
                         retryable=category.retryable if retryable is None else retryable,
                         retry_after=retry_after if category.waits else None)
