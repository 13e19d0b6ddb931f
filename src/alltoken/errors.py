"""The errors AllToken raises, one class per kind of failure, whatever surface reports it.

Each carries a message for the caller, the parameter at fault (`param`, if one is), a stable `code`
a program can branch on, and, where waiting helps, `retry_after` seconds. No transport here: the HTTP
surface maps each class to a status and an error type (http/errors.py), the CLI to an exit (cli/).
"""


class AllTokenError(Exception):
    """The base: anything the caller is told about rather than a crash of our own code."""

    default_code = "error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code: str | None = code or self.default_code
        self.retry_after = retry_after


class InvalidRequest(AllTokenError):
    """Bad input: a field missing, malformed or out of range."""

    default_code = "invalid_request"


class Unauthenticated(AllTokenError):
    """No credentials, or credentials that name nobody."""

    default_code = "invalid_api_key"


class PermissionDenied(AllTokenError):
    """The caller is known but may not do this (a policy, a role, a region, unaccepted terms)."""

    default_code = "permission_denied"


class NotFound(AllTokenError):
    """The thing named does not exist (or is not the caller's to see)."""

    default_code = "not_found"


class Conflict(AllTokenError):
    """The request contradicts the current state (already exists, already used, wrong state)."""

    default_code = "conflict"


class PaymentRequired(AllTokenError):
    """Credits or a spending limit cannot cover the request."""

    default_code = "insufficient_credits"


class TooLarge(AllTokenError):
    """A body or an upload over its limit."""

    default_code = "request_too_large"


class RateLimited(AllTokenError):
    """A rate limit is reached. `limit` names its kind (requests | tokens | concurrency); `standing` is
    the tightest limits' state under OpenAI's x-ratelimit-* names, which clients read on a refusal too."""

    default_code = "rate_limit_exceeded"

    def __init__(self, message: str, *, limit: str, retry_after: float,
                 standing: dict[str, str] | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.limit = limit
        self.standing = standing or {}


class SharedStateUnavailable(AllTokenError):
    """The shared state store (Redis) cannot be reached: what needs it fails closed until it is back."""

    default_code = "shared_state_unavailable"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} cannot be checked right now: the gateway's shared state store is unreachable; "
                         "try again shortly", retry_after=1)
        self.what = what


class BillingUnavailable(SharedStateUnavailable):
    """The shared credit book cannot be reached: nothing is reserved or read, the next request tries again."""

    default_code = "billing_unavailable"

    def __init__(self) -> None:
        AllTokenError.__init__(self, "billing is unavailable right now (the shared credit store cannot be "
                                     "reached); nothing was charged, retry shortly", retry_after=1)
        self.what = "billing"


class UpstreamError(AllTokenError):
    """A provider's failure, already classified by the provider module: the `status` and `type` the client
    sees, and whether the router may try another route (`retryable`)."""

    def __init__(self, status: int, message: str, *, type: str = "upstream_error", code: str | None = None,
                 param: str | None = None, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message, param=param, retry_after=retry_after)
        self.code = code
        self.status = status
        self.type = type
        self.retryable = retryable
