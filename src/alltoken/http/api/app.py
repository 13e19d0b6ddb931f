"""The management API under /api (OpenAPI at /api/openapi.json). The console will use only this."""

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from alltoken import __version__
from alltoken.errors import AllTokenError
from alltoken.http.api import (
    account,
    admin,
    auth,
    billing,
    catalog,
    invitations,
    stripe_webhook,
    studio,
    team,
    teams,
    terms,
    usage,
)
from alltoken.http.api.auth.sign_up_gate import SignUpGate
from alltoken.http.errors import ApiError, bad_request, error_response
from alltoken.http.security_headers import SecurityHeadersMiddleware
from alltoken.runtime.gateway import Gateway

# One router per URL prefix: /api/auth/*, /api/account/*, /api/billing/*, ... (paths never overlap across them).
_PREFIXES = (auth, account, billing, stripe_webhook, team, teams, invitations, terms, studio, catalog, usage, admin)


def create_management_api(state: Gateway) -> FastAPI:
    # No interactive docs page: it would load Swagger UI's script from a CDN onto the console's origin. The
    # OpenAPI document is here for any viewer or client generator (docs/management-api.md). Paths are exact:
    # no redirect adds or drops a trailing slash (it would be built from the request's Host header).
    api = FastAPI(title="AllToken management API", version=__version__, openapi_url="/openapi.json",
                  docs_url=None, redoc_url=None, redirect_slashes=False)
    api.add_middleware(SignUpGate, state=state)
    api.add_middleware(SecurityHeadersMiddleware)
    api.state.gateway = state
    api.add_exception_handler(AllTokenError, _api_error)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(HTTPException, _http_error)
    for prefix in _PREFIXES:
        api.include_router(prefix.router)
    return api


# Starlette types every handler for any exception: each checks it got the one it is registered for.
async def _api_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, AllTokenError):
        raise exc
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):
        raise exc
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return error_response(bad_request(f"{where or 'body'}: {first.get('msg', 'invalid request')}",
                                      param=where or None))


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        raise exc
    kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
    return error_response(ApiError(exc.status_code, str(exc.detail), type=kind, code=f"http_{exc.status_code}"))
