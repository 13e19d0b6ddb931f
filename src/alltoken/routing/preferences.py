"""Per-request routing preferences, OpenRouter-compatible: the `provider` object, the `models`
fallback list, and the `:floor` / `:nitro` model variants. Their types were checked with the rest of
the request (http/v1/schemas/chat.py); the values are read here."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from alltoken.errors import InvalidRequest

SORTS = ("price", "throughput", "latency")
VARIANTS = {"floor": "price", "nitro": "throughput"}
_UNITS_PER_USD_PER_MILLION = 10**6     # 1 USD per million tokens = 1e-6 USD per token = 1e6 units
# Request fields that are not model parameters a provider could drop.
NOT_PARAMETERS = frozenset(("model", "messages", "stream", "stream_options", "provider", "models", "user",
                            "max_tokens", "max_completion_tokens", "metadata"))


@dataclass(frozen=True, slots=True)
class Preferences:
    order: tuple[str, ...] = ()
    only: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    allow_fallbacks: bool = True
    sort: str | None = None
    max_prompt_units: int | None = None        # per token
    max_completion_units: int | None = None    # per token
    fallback_models: tuple[str, ...] = ()
    deny_data_collection: bool = False         # only providers that declare they neither retain nor train
    required_parameters: frozenset[str] = frozenset()   # set when require_parameters is true


def split_variant(model_id: str) -> tuple[str, str | None]:
    """'openai/gpt-4o:floor' -> ('openai/gpt-4o', 'price'). Unknown suffixes are part of the id."""
    base, _, suffix = model_id.rpartition(":")
    if base and suffix in VARIANTS:
        return base, VARIANTS[suffix]
    return model_id, None


_DEFAULT = Preferences()


def parse_preferences(body: dict, variant_sort: str | None = None) -> Preferences:
    raw = body.get("provider")
    if raw is None and variant_sort is None and "models" not in body:
        return _DEFAULT  # the common case, on every request: nothing to parse
    raw = raw or {}
    max_price = raw.get("max_price") or {}
    only = raw.get("only")
    return Preferences(
        deny_data_collection=raw.get("data_collection") == "deny",
        required_parameters=frozenset(body) - NOT_PARAMETERS if raw.get("require_parameters") else frozenset(),
        order=tuple(raw.get("order") or ()), only=frozenset(only) if only is not None else None,
        ignore=frozenset(raw.get("ignore") or ()), allow_fallbacks=raw.get("allow_fallbacks") is not False,
        sort=raw.get("sort") or variant_sort,
        max_prompt_units=_per_token(max_price, "prompt"), max_completion_units=_per_token(max_price, "completion"),
        fallback_models=tuple(m for m in body.get("models") or () if m != body.get("model")))


def _per_token(max_price: dict, field: str) -> int | None:
    value = max_price.get(field)
    if value is None:
        return None
    try:
        usd_per_million = Decimal(str(value))
    except InvalidOperation:
        usd_per_million = Decimal(-1)
    if not usd_per_million.is_finite() or usd_per_million < 0:
        raise InvalidRequest(f"provider.max_price.{field} must be a non-negative number of USD per million tokens",
                             param=f"provider.max_price.{field}")
    return int(usd_per_million * _UNITS_PER_USD_PER_MILLION)

