"""The sign-up throttle, checked before the management API parses anything: a refused sign-up (nearly all of
a flood) is answered from the rate limiter alone, at about the cost of a health check instead of a FastAPI
request (one process answered ~3,300 refused sign-ups a second through the route, ~9,000 health checks).
A sign-up let through carries its count to the route (SIGN_UP_COUNTED), which gives it back if the server
is too busy to hash the password."""

import math

from alltoken.accounts.sign_up_throttle import Throttled
from alltoken.errors import AllTokenError, SharedStateUnavailable
from alltoken.http.errors import ApiError, error_response
from alltoken.runtime.gateway import Gateway

SIGN_UP_PATH = "/auth/signup"
SIGN_UP_COUNTED = "alltoken.sign_up_counted"


class SignUpGate:
    def __init__(self, app, state: Gateway):
        self.app = app
        self._state = state

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST" and _route_path(scope) == SIGN_UP_PATH:
            try:
                scope[SIGN_UP_COUNTED] = await self._state.sign_ups.count(self._state.origin.address(scope))
            except Throttled as refused:
                return await _answer(send, _throttled(refused.seconds))
            except SharedStateUnavailable:
                return await _answer(send, SharedStateUnavailable("the sign-up limit"))
        await self.app(scope, receive, send)


def _route_path(scope) -> str:
    """The path inside the mount (/api)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _throttled(seconds: float) -> ApiError:
    wait = max(1, math.ceil(seconds))
    return ApiError(429, f"too many sign-ups; try again in {wait} s", type="rate_limit_error", code="sign_up_throttled",
                    headers={"retry-after": str(wait)})


async def _answer(send, error: AllTokenError) -> None:
    response = error_response(error)
    await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
