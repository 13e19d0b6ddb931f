"""The providers, the models and their routes, and the circuit breakers (`providers:`, `models:`,
`breaker:`), from the config file or, for providers, the standard environment variables."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alltoken.config.provider_types import ENTRY_FIELDS, ENV_PROVIDERS, ProviderConfig, check_provider
from alltoken.config.values import ConfigError

STRATEGIES = ("priority", "weighted", "price", "latency", "throughput")


@dataclass(frozen=True)
class RouteConfig:
    provider: str
    model: str
    pricing: dict[str, Any] | list[Any] | None = None   # a price, or a schedule of prices (catalog/schedule.py)
    weight: float = 1.0            # for the weighted strategy


@dataclass(frozen=True)
class ModelConfig:
    id: str
    routes: tuple[RouteConfig, ...]
    name: str | None = None
    context_length: int | None = None
    max_output_tokens: int | None = None
    kind: str | None = None        # chat | embedding | image; from the catalog when the route's model is there
    strategy: str = "priority"     # priority | weighted | price | latency | throughput


def providers(raw: object, env: Mapping[str, str]) -> list[ProviderConfig]:
    if raw is None:
        return _providers_from_env(env)
    if not isinstance(raw, list):
        raise ConfigError("providers: expected a list")
    providers = [_provider(entry) for entry in raw]
    ids = [p.id for p in providers]
    if len(ids) != len(set(ids)):
        raise ConfigError(f"providers: ids must be unique, got {ids}")
    return providers


def _provider(entry: object) -> ProviderConfig:
    if not isinstance(entry, dict) or not entry.get("id") or not entry.get("type"):
        raise ConfigError(f"providers: each entry needs an id and a type, got {entry!r}")
    fields = {k: (str(v) if v is not None else None) for k, v in entry.items() if k in ENTRY_FIELDS}
    options = {k: v for k, v in entry.items() if k not in ENTRY_FIELDS}
    config = ProviderConfig(id=str(entry["id"]), type=str(entry["type"]), api_key=fields.get("api_key"),
                            base_url=fields.get("base_url"), region=fields.get("region"),
                            aws_access_key_id=fields.get("aws_access_key_id"),
                            aws_secret_access_key=fields.get("aws_secret_access_key"), options=options)
    check_provider(config)
    return config


def _providers_from_env(env: Mapping[str, str]) -> list[ProviderConfig]:
    found = [ProviderConfig(id=kind, type=kind, api_key=env[var])
             for kind, var in ENV_PROVIDERS.items() if env.get(var)]
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        session_token = env.get("AWS_SESSION_TOKEN")     # temporary (STS) credentials need it to sign
        found.append(ProviderConfig(id="bedrock", type="bedrock", region=env.get("AWS_REGION", "us-east-1"),
                                    aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                    options={"aws_session_token": session_token} if session_token else {}))
    return found


def models(raw: object) -> list[ModelConfig]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError("models: expected a list")
    return [parse_model(entry) for entry in raw]


def parse_model(entry: object) -> ModelConfig:
    """One `models:` entry (also the body of a route change through the management API)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ConfigError(f"models: each entry needs an id, got {entry!r}")
    routes = entry.get("routes")
    if not isinstance(routes, list) or not routes:
        raise ConfigError(f"model {entry['id']}: routes must be a non-empty list")
    parsed = []
    for route in routes:
        if not isinstance(route, dict) or not route.get("provider") or not route.get("model"):
            raise ConfigError(f"model {entry['id']}: each route needs provider and model, got {route!r}")
        pricing = route.get("pricing")
        if pricing is not None and not isinstance(pricing, (dict, list)):
            raise ConfigError(f"model {entry['id']}: pricing must be a mapping of USD-per-token strings, "
                              "or a list of them each with a 'from' time")
        weight = route.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
            raise ConfigError(f"model {entry['id']}: a route weight must be a positive number, got {weight!r}")
        parsed.append(RouteConfig(provider=str(route["provider"]), model=str(route["model"]), pricing=pricing,
                                  weight=float(weight)))
    kind = entry.get("kind")
    if kind not in (None, "chat", "embedding", "image"):
        raise ConfigError(f"model {entry['id']}: kind must be chat, embedding or image, got {kind!r}")
    strategy = entry.get("strategy", "priority")
    if strategy not in STRATEGIES:
        raise ConfigError(f"model {entry['id']}: strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    return ModelConfig(id=entry["id"], routes=tuple(parsed), name=entry.get("name"), kind=kind, strategy=strategy,
                       context_length=entry.get("context_length"), max_output_tokens=entry.get("max_output_tokens"))


def breaker(raw: object) -> dict[str, Any]:
    if raw is None:
        return {}
    known = {"consecutive_failures": int, "failure_rate": float, "min_requests": int,
             "rate_window_seconds": float, "cooldown_seconds": float}
    if not isinstance(raw, dict) or set(raw) - set(known):
        raise ConfigError(f"breaker: expected a mapping with any of {', '.join(known)}")
    try:
        values = {name: known[name](value) for name, value in raw.items()}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"breaker: {exc}") from exc
    if any(value <= 0 for value in values.values()) or values.get("failure_rate", 0.5) > 1:
        raise ConfigError("breaker: every value must be more than 0, and failure_rate at most 1")
    return values
