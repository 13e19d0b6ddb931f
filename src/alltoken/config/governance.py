"""Governance settings: blocked countries (`regions:`), terms of service (`terms:`), retention
(`retention:`) and rate-limit tiers (`rate_limits:`)."""

import ipaddress
import re
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Any

from alltoken.config.rate_limits import RateLimitSettings
from alltoken.config.values import ConfigError


@dataclass(frozen=True)
class RegionSettings:
    """Countries kept out (sanctions, embargoes), and where a request's country comes from."""

    blocked_countries: frozenset[str] = frozenset()     # ISO 3166-1 alpha-2, upper case
    country_header: str | None = None                   # e.g. CF-IPCountry; believed from trusted proxies only
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()   # ipaddress networks
    geoip_database: Path | None = None                  # a MaxMind GeoIP2/GeoLite2 Country (or City) file
    unknown_country: str = "allow"                      # allow | block: a request whose country is not known

    @property
    def enforced(self) -> bool:
        return bool(self.blocked_countries) or self.unknown_country == "block"


@dataclass(frozen=True)
class TermsSettings:
    grace_days: float = 30.0     # after a material change takes effect, how long accounts may go on unaccepted


@dataclass(frozen=True)
class RetentionSettings:
    ledger_days: float = 2555.0              # a deleted account's ledger entries are kept this long from their date
    purge_interval_seconds: float = 3600.0   # how often a server looks for entries past retention
    usage_days: float | None = None          # raw usage records are deleted at this age; None: kept forever
    usage_purge_batch: int = 10000           # usage records deleted per transaction


# Budget periods (key and member limits) sum raw usage records of up to a calendar month back.
MIN_USAGE_RETENTION_DAYS = 32


def usage_retention(section: dict[str, Any]) -> dict[str, Any]:
    days = section.get("usage_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, (int, float))
                             or days < MIN_USAGE_RETENTION_DAYS):
        raise ConfigError(f"retention.usage_days: a number of days, at least {MIN_USAGE_RETENTION_DAYS} "
                          f"(monthly budgets count the month's usage records), got {days!r}")
    batch = section.get("usage_purge_batch", 10000)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"retention.usage_purge_batch: a whole number more than 0, got {batch!r}")
    return {"usage_days": None if days is None else float(days), "usage_purge_batch": batch}


_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
REGION_KEYS = {"blocked_countries", "country_header", "trusted_proxies", "geoip_database", "unknown_country"}


def regions(raw: dict[str, Any]) -> RegionSettings:
    countries = raw.get("blocked_countries") or []
    if not isinstance(countries, list) or not all(isinstance(c, str) and _COUNTRY.match(c) for c in countries):
        raise ConfigError(f"regions.blocked_countries: a list of ISO 3166-1 alpha-2 codes (e.g. [CU, IR]), "
                          f"got {countries!r}")
    proxies = raw.get("trusted_proxies") or []
    if not isinstance(proxies, list):
        raise ConfigError("regions.trusted_proxies: a list of addresses or CIDR ranges")
    try:
        networks = tuple(ipaddress.ip_network(str(proxy), strict=False) for proxy in proxies)
    except ValueError as exc:
        raise ConfigError(f"regions.trusted_proxies: {exc}") from None
    database = raw.get("geoip_database")
    if database is not None and not Path(str(database)).is_file():
        raise ConfigError(f"regions.geoip_database: file not found: {database}")
    unknown = raw.get("unknown_country", "allow")
    if unknown not in ("allow", "block"):
        raise ConfigError(f"regions.unknown_country: allow or block, got {unknown!r}")
    header = raw.get("country_header")
    return RegionSettings(frozenset(c.upper() for c in countries), str(header) if header else None, networks,
                          Path(str(database)) if database is not None else None, unknown)


def rate_limits(raw: object) -> RateLimitSettings:
    try:
        return RateLimitSettings.parse(raw)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
