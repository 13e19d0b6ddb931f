"""The management API under /api (OpenAPI at /api/openapi.json). The console will use only this."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from alltoken import __version__
from alltoken.errors import AllTokenError
from alltoken.http.api import (
    account_data_routes,
    account_routes,
    account_routing_routes,
    admin_account_routes,
    admin_audit_routes,
    admin_billing_routes,
    admin_codes_routes,
    admin_directory_routes,
    admin_limits_routes,
    admin_platform_routes,
    admin_routes,
    admin_uncollected_routes,
    alert_routes,
    auth_routes,
    balance_routes,
    catalog_routes,
    email_verification_routes,
    invitation_routes,
    membership_routes,
    moderation_log_routes,
    password_reset_routes,
    reauthentication_routes,
    redeem_routes,
    statement_routes,
    studio_routes,
    team_routes,
    terms_routes,
    topup_routes,
    usage_routes,
)
from alltoken.http.api.sign_up_gate import SignUpGate
from alltoken.http.errors import ApiError, bad_request, error_response
from alltoken.http.security_headers import SecurityHeadersMiddleware


def create_management_api(state) -> FastAPI:
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
    api.include_router(admin_routes.router)
    api.include_router(admin_audit_routes.router)
    api.include_router(topup_routes.router)
    api.include_router(admin_billing_routes.router)
    api.include_router(admin_uncollected_routes.router)
    api.include_router(statement_routes.router)
    api.include_router(alert_routes.router)
    api.include_router(auth_routes.router)
    api.include_router(password_reset_routes.router)
    api.include_router(reauthentication_routes.router)
    api.include_router(email_verification_routes.router)
    api.include_router(team_routes.router)
    api.include_router(moderation_log_routes.router)
    api.include_router(account_data_routes.router)
    api.include_router(account_routes.router)
    api.include_router(terms_routes.router)
    api.include_router(admin_account_routes.router)
    api.include_router(admin_limits_routes.router)
    api.include_router(catalog_routes.router)
    api.include_router(usage_routes.router)
    api.include_router(balance_routes.router)
    api.include_router(studio_routes.router)
    api.include_router(admin_directory_routes.router)
    api.include_router(admin_codes_routes.router)
    api.include_router(admin_platform_routes.router)
    api.include_router(membership_routes.router)
    api.include_router(invitation_routes.router)
    api.include_router(redeem_routes.router)
    api.include_router(account_routing_routes.router)
    return api


async def _api_error(request: Request, exc: AllTokenError):
    return error_response(exc)


async def _validation_error(request: Request, exc: RequestValidationError):
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return error_response(bad_request(f"{where or 'body'}: {first.get('msg', 'invalid request')}",
                                      param=where or None))


async def _http_error(request: Request, exc: HTTPException):
    kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
    return error_response(ApiError(exc.status_code, str(exc.detail), type=kind, code=f"http_{exc.status_code}"))
