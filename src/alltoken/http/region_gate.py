"""Regions and sanctions: requests and sign-ups from blocked countries get 403 `region_blocked`.

The gate is an ASGI middleware over /v1 and /api, installed only when `regions:` blocks something,
so a server without it pays nothing per request.
"""

from alltoken.config import RegionSettings
from alltoken.errors import PermissionDenied
from alltoken.http.errors import error_response
from alltoken.runtime.origin import ClientOrigin

GATED_PREFIXES = ("/v1", "/api")
_ANTHROPIC_PATHS = ("/v1/messages",)


class RegionPolicy:
    def __init__(self, settings: RegionSettings):
        self._blocked = settings.blocked_countries
        self._block_unknown = settings.unknown_country == "block"
        self._refusals: dict[str, PermissionDenied] = {}

    def refusal(self, country: str | None) -> PermissionDenied | None:
        """The 403 for a request or sign-up from `country` (None: not known), or None when allowed."""
        if country is None:
            return _UNKNOWN if self._block_unknown else None
        if country not in self._blocked:
            return None
        refused = self._refusals.get(country)
        if refused is None:
            refused = self._refusals[country] = PermissionDenied(
                f"AllToken is not available in your country or region ({country}): export-control and sanctions "
                "laws do not allow us to serve it. If you think this is wrong, contact support.",
                code="region_blocked")
        return refused


_UNKNOWN = PermissionDenied("AllToken could not determine your country or region, and this server serves only "
                            "requests whose country it knows (sanctions compliance). If you think this is wrong, "
                            "contact support.", code="region_blocked")


class RegionGate:
    """Answers a /v1 or /api request from a refused country itself, in the error shape of that API."""

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
