"""The pricing catalog: versioned data files, one per provider family, shipped with the package.

Nothing is fetched from the internet; a price change is a new release of the data file.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .pricing import Price

CATALOG_DIR = Path(__file__).parent / "catalog"


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
    price: Price
    source: str
    as_of: str
    catalog_version: str


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


def _entry(item: dict, provider: str, version: str, filename: str) -> CatalogEntry:
    try:
        price = Price.from_usd_strings(item["pricing"])
    except (KeyError, ValueError) as exc:
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
        price=price,
        source=item["source"],
        as_of=str(item["as_of"]),
        catalog_version=version,
    )


def catalog_price(provider_type: str, upstream_model: str) -> CatalogEntry | None:
    """The catalog entry for a provider family's own model name, if we know its price."""
    for entry in load_catalog():
        if entry.provider_type == provider_type and entry.upstream_model == upstream_model:
            return entry
    return None
