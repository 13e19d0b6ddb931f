"""Where a request comes from: the client's address, and its country.

Behind a reverse proxy the direct peer is the proxy. What a proxy says (X-Forwarded-For, a country
header such as CF-IPCountry) is believed only when the direct peer is one of `regions.trusted_proxies`;
anyone else could send those headers. Without a trusted country header the country comes from a
MaxMind GeoIP2 database when one is configured. Lookups are cached per address.
"""

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from alltoken.config import ConfigError, RegionSettings
from alltoken.runtime.scope import Scope

FORWARDED_FOR = b"x-forwarded-for"
FORWARDED_PROTO = b"x-forwarded-proto"
_ISO_CODE = re.compile(r"^[A-Z]{2}$")
# Values proxies send when they do not know: Cloudflare's XX (unknown) and T1 (Tor) among them.
_NOT_A_COUNTRY = frozenset({"XX", "ZZ"})


class ClientOrigin:
    def __init__(self, settings: RegionSettings):
        self._proxies = settings.trusted_proxies
        self._country_header = settings.country_header.lower().encode() if settings.country_header else None
        self._reader = _open_geoip(settings.geoip_database) if settings.geoip_database else None
        self._city_database = self._reader is not None and "City" in self._reader.metadata().database_type
        self._trusted = lru_cache(maxsize=4096)(self._is_trusted_proxy)
        self._country_of = lru_cache(maxsize=65536)(self._geoip_country)

    def address(self, scope: Scope) -> str | None:
        """The client's address: the direct peer, or, when that is a trusted proxy, the nearest
        address in X-Forwarded-For that is not one (None when that entry is not an address)."""
        client = scope.get("client")
        peer: str | None = client[0] if client else None
        if peer is None or not self._proxies or not self._trusted(peer):
            return peer
        forwarded = _header(scope, FORWARDED_FOR)
        if not forwarded:
            return peer
        hops = [hop.strip() for hop in forwarded.split(",")]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return _normalized(hop)
        return _normalized(hops[0])

    def scheme(self, scope: Scope) -> str:
        """"https" or "http" as the client used it: the connection's own, or, when the direct peer is a
        trusted proxy, what that proxy says in X-Forwarded-Proto (the client's hop, its first entry)."""
        stated = _header(scope, FORWARDED_PROTO) if self._peer_is_trusted(scope) else None
        if stated:
            return stated.split(",")[0].strip().lower()
        scheme: str = scope.get("scheme", "http")
        return scheme

    def country(self, scope: Scope) -> str | None:
        """ISO 3166-1 alpha-2 code, upper case, or None when it cannot be told."""
        if self._country_header is not None and self._peer_is_trusted(scope):
            stated = _iso_code(_header(scope, self._country_header))
            if stated is not None:
                return stated
        if self._reader is None:
            return None
        address = self.address(scope)
        return self._country_of(address) if address else None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    def _peer_is_trusted(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client:
            return False
        return bool(self._proxies) and self._trusted(client[0])

    def _is_trusted_proxy(self, address: str) -> bool:
        parsed = _parse(address)
        return parsed is not None and any(parsed in network for network in self._proxies)

    def _geoip_country(self, address: str) -> str | None:
        import geoip2.errors

        reader = self._reader
        if reader is None:
            return None
        try:
            found = reader.city(address) if self._city_database else reader.country(address)
        except (geoip2.errors.AddressNotFoundError, ValueError):
            return None
        return _iso_code(found.country.iso_code or found.registered_country.iso_code)


def _open_geoip(path: Path) -> Any:   # a geoip2 Reader (geoip2 has no type hints)
    import geoip2.database
    import maxminddb

    try:
        reader = geoip2.database.Reader(str(path))
    except (OSError, maxminddb.InvalidDatabaseError) as exc:
        raise ConfigError(f"regions.geoip_database: cannot open {path}: {exc}") from None
    kind = reader.metadata().database_type
    if "Country" not in kind and "City" not in kind:
        reader.close()
        raise ConfigError(f"regions.geoip_database: {path} is a {kind} database; use a Country or City one")
    return reader


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _iso_code(value: str | None) -> str | None:
    if not value:
        return None
    code = value.strip().upper()
    return code if _ISO_CODE.match(code) and code not in _NOT_A_COUNTRY else None


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def _normalized(address: str) -> str | None:
    parsed = _parse(address)
    return str(parsed) if parsed is not None else None
