"""Regions and sanctions: requests and sign-ups from blocked countries are refused with `region_blocked`
(http/region_gate.py answers /v1 and /api with it; the CLI refuses such a sign-up)."""

from alltoken.config import RegionSettings
from alltoken.errors import PermissionDenied


class RegionPolicy:
    def __init__(self, settings: RegionSettings) -> None:
        self._blocked = settings.blocked_countries
        self._block_unknown = settings.unknown_country == "block"
        self._refusals: dict[str, PermissionDenied] = {}

    def refusal(self, country: str | None) -> PermissionDenied | None:
        """The refusal for a request or sign-up from `country` (None: not known), or None when allowed."""
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
