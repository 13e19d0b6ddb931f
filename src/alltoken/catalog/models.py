"""The pricing catalog: versioned data files, one per provider family, shipped with the package.

Nothing is fetched from the internet; a price change is a new release of the data file. An entry
may announce future prices (`price_changes`, each from a stated time) and regional prices
(`region_pricing`, keyed by the provider's `region`); servers switch when a change starts.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from alltoken.catalog.schedule import in_effect, next_change, parse_schedule
from alltoken.ids import utcnow
from alltoken.pricing import Price


@dataclass(frozen=True, slots=True)
class PriceVersion:
    """The prices of one catalog entry from one time on: a default and per-region overrides."""

    default: Price
    regions: tuple[tuple[str, Price], ...] = ()

    def for_region(self, region: str | None) -> Price:
        return next((price for name, price in self.regions if name == region), self.default)

CATALOG_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class CatalogEntry:
    id: str                     # public id, author/model
    provider_type: str          # wire protocol family that serves it natively
    upstream_model: str
    name: str
    kind: str                   # chat | embedding
    context_length: int | None
    max_output_tokens: int | None
    capabilities: tuple[str, ...]
    max_dimensions: int | None   # embedding models: the largest `dimensions` the provider documents
    versions: tuple[tuple[datetime | None, PriceVersion], ...]   # by start time; the first from always
    source: str
    as_of: str
    catalog_version: str

    def price_at(self, now: datetime, region: str | None = None) -> Price:
        version = in_effect(self.versions, now) or self.versions[0][1]   # the first is in effect from always
        return version.for_region(region)

    @property
    def price(self) -> Price:
        """The default price in effect now."""
        return self.price_at(utcnow())

    def next_price_change(self, now: datetime) -> datetime | None:
        return next_change(self.versions, now)


@lru_cache(maxsize=1)
def load_catalog() -> tuple[CatalogEntry, ...]:
    entries = []
    for path in sorted(CATALOG_DIR.glob("*.yaml")):
        entries.extend(_read_file(path))
    return tuple(entries)


def _read_file(path: Path) -> list[CatalogEntry]:
    data = yaml.safe_load(path.read_text())
    version, provider = str(data["version"]), data["provider"]
    return [_entry(item, provider, version, path.name) for item in data["models"]]


def _entry(item: dict[str, Any], provider: str, version: str, filename: str) -> CatalogEntry:
    try:
        versions = _price_versions(item)
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"{filename}: {item.get('id')}: bad pricing: {exc}") from exc
    return CatalogEntry(
        id=item["id"],
        provider_type=provider,
        upstream_model=item["upstream_model"],
        name=item.get("name", item["id"]),
        kind=item.get("kind", "chat"),
        context_length=item.get("context_length"),
        max_output_tokens=item.get("max_output_tokens"),
        capabilities=tuple(item.get("capabilities", ())),
        max_dimensions=item.get("max_dimensions"),
        versions=versions,
        source=item["source"],
        as_of=str(item["as_of"]),
        catalog_version=version,
    )


def _price_versions(item: dict[str, Any]) -> tuple[tuple[datetime | None, PriceVersion], ...]:
    """`pricing` (+ `region_pricing`) in effect now, then each of `price_changes` from its `from` on.
    A change restates its regional prices: one it leaves out charges the default from then on."""
    current = {"pricing": item["pricing"], "region_pricing": item.get("region_pricing")}
    changes = parse_schedule(item["price_changes"]) if item.get("price_changes") else []
    return tuple((starts, _version(table)) for starts, table in [(None, current), *changes])


def _version(table: dict[str, Any]) -> PriceVersion:
    unknown = set(table) - {"pricing", "region_pricing"}
    if unknown:
        raise ValueError(f"a price change takes 'from', 'pricing' and 'region_pricing', not {sorted(unknown)}")
    regions = tuple((str(name), Price.from_usd_strings(prices))
                    for name, prices in (table.get("region_pricing") or {}).items())
    return PriceVersion(Price.from_usd_strings(table["pricing"]), regions)


def catalog_price(provider_type: str, upstream_model: str) -> CatalogEntry | None:
    """The catalog entry for a provider family's own model name, if we know its price."""
    for entry in load_catalog():
        if entry.provider_type == provider_type and entry.upstream_model == upstream_model:
            return entry
    return None
