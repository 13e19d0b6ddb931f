"""Expected costs computed independently of the gateway: Decimal arithmetic over the catalog file."""

from decimal import Decimal
from pathlib import Path

import yaml

CATALOG = Path(__file__).parent.parent / "src" / "alltoken" / "billing" / "catalog"


def catalog_prices(public_id: str) -> dict[str, Decimal]:
    for path in CATALOG.glob("*.yaml"):
        for model in yaml.safe_load(path.read_text())["models"]:
            if model["id"] == public_id:
                return {k: Decimal(v) for k, v in model["pricing"].items()}
    raise KeyError(public_id)


def expected_cost(public_id: str, prompt: int, completion: int, cached: int = 0, reasoning: int = 0,
                  cache_write: int = 0) -> Decimal:
    """prompt includes cached and cache_write tokens; completion includes reasoning (OpenAI's convention)."""
    price = catalog_prices(public_id)
    cache_rate = price.get("input_cache_read", price["prompt"])
    write_rate = price.get("input_cache_write", price["prompt"])
    reasoning_rate = price.get("internal_reasoning", price["completion"])
    return ((prompt - cached - cache_write) * price["prompt"] + cached * cache_rate + cache_write * write_rate
            + (completion - reasoning) * price["completion"] + reasoning * reasoning_rate)
