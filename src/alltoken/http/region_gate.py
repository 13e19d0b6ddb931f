"""The region gate: an ASGI middleware over /v1 and /api that answers a request from a refused country itself,
in the error shape of that API. Installed only when `regions:` blocks something, so a server without it pays
nothing per request."""

from alltoken.governance.regions import RegionPolicy
from alltoken.http.errors import error_response
from alltoken.runtime.origin import ClientOrigin

GATED_PREFIXES = ("/v1", "/api")
_ANTHROPIC_PATHS = ("/v1/messages",)


class RegionGate:
    def __init__(self, app, origin: ClientOrigin, policy: RegionPolicy):
        self.app = app
        self._origin = origin
        self._policy = policy

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and _gated(scope["path"]):
            refused = self._policy.refusal(self._origin.country(scope))
            if refused is not None:
                response = error_response(refused, anthropic=scope["path"].startswith(_ANTHROPIC_PATHS))
                return await response(scope, receive, send)
        await self.app(scope, receive, send)


def _gated(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in GATED_PREFIXES)
