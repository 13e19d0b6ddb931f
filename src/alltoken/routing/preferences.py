"""Per-request routing preferences, OpenRouter-compatible: the `provider` object, the `models`
fallback list, and the `:floor` / `:nitro` model variants."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..gateway.errors import bad_request

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
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise bad_request("'provider' must be an object of routing preferences", param="provider")
    sort = raw.get("sort", variant_sort)
    if sort is not None and sort not in SORTS:
        raise bad_request(f"provider.sort must be one of {', '.join(SORTS)}", param="provider.sort")
    allow = raw.get("allow_fallbacks", True)
    if not isinstance(allow, bool):
        raise bad_request("provider.allow_fallbacks must be a boolean", param="provider.allow_fallbacks")
    max_price = raw.get("max_price") or {}
    if not isinstance(max_price, dict):
        raise bad_request("provider.max_price must be an object (USD per million tokens)", param="provider.max_price")
    only = _names(raw, "only")
    data_collection = raw.get("data_collection", "allow")
    if data_collection not in ("allow", "deny"):
        raise bad_request("provider.data_collection must be 'allow' or 'deny'", param="provider.data_collection")
    require = raw.get("require_parameters", False)
    if not isinstance(require, bool):
        raise bad_request("provider.require_parameters must be a boolean", param="provider.require_parameters")
    return Preferences(
        deny_data_collection=data_collection == "deny",
        required_parameters=frozenset(body) - NOT_PARAMETERS if require else frozenset(),
        order=tuple(_names(raw, "order") or ()), only=frozenset(only) if only is not None else None,
        ignore=frozenset(_names(raw, "ignore") or ()), allow_fallbacks=allow, sort=sort,
        max_prompt_units=_per_token(max_price, "prompt"), max_completion_units=_per_token(max_price, "completion"),
        fallback_models=tuple(_fallback_models(body)))


def _names(raw: dict, field: str) -> list[str] | None:
    value = raw.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise bad_request(f"provider.{field} must be an array of provider ids", param=f"provider.{field}")
    return value


def _per_token(max_price: dict, field: str) -> int | None:
    value = max_price.get(field)
    if value is None:
        return None
    try:
        usd_per_million = Decimal(str(value))
    except InvalidOperation:
        usd_per_million = Decimal(-1)
    if isinstance(value, bool) or not usd_per_million.is_finite() or usd_per_million < 0:
        raise bad_request(f"provider.max_price.{field} must be a non-negative number of USD per million tokens",
                          param=f"provider.max_price.{field}")
    return int(usd_per_million * _UNITS_PER_USD_PER_MILLION)


def _fallback_models(body: dict) -> list[str]:
    models = body.get("models")
    if models is None:
        return []
    if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
        raise bad_request("'models' must be an array of model ids to fall back to", param="models")
    return [m for m in models if m != body.get("model")]
