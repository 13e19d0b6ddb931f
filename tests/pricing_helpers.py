"""Expected costs computed independently of the gateway: Decimal arithmetic over the catalog file."""

from decimal import Decimal
from pathlib import Path

import yaml

CATALOG = Path(__file__).parent.parent / "src" / "alltoken" / "catalog" / "data"


def catalog_prices(public_id: str, family: str | None = None) -> dict[str, Decimal]:
    """The price of a public model as its own family serves it (or `family`'s, e.g. bedrock)."""
    for path in sorted(CATALOG.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if family and data["provider"] != family:
            continue
        for model in data["models"]:
            if model["id"] == public_id and (family or public_id.startswith(_AUTHORS.get(data["provider"], "?"))):
                return {k: Decimal(v) for k, v in model["pricing"].items()}
    raise KeyError(public_id)


# Which family serves a public id natively, when several catalog files list it.
_AUTHORS = {"openai": "openai/", "anthropic": "anthropic/", "gemini": "google/", "mistral": "mistralai/",
            "llama": "meta-llama/", "bedrock": "amazon/", "demo": "alltoken/"}


def expected_cost(public_id: str, prompt: int, completion: int, cached: int = 0, reasoning: int = 0,
                  cache_write: int = 0) -> Decimal:
    """prompt includes cached and cache_write tokens; completion includes reasoning (OpenAI's convention)."""
    price = catalog_prices(public_id)
    cache_rate = price.get("input_cache_read", price["prompt"])
    write_rate = price.get("input_cache_write", price["prompt"])
    reasoning_rate = price.get("internal_reasoning", price["completion"])
    return ((prompt - cached - cache_write) * price["prompt"] + cached * cache_rate + cache_write * write_rate
            + (completion - reasoning) * price["completion"] + reasoning * reasoning_rate)
