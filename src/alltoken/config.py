"""Settings: flags > environment > config file > defaults, in one place."""

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

PROVIDER_TYPES = ("openai", "anthropic", "gemini", "bedrock", "mistral", "llama", "openai_compatible", "demo")

# Standard variables that enable a provider when no config file lists providers.
ENV_PROVIDERS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "llama": "LLAMA_API_KEY",
}

STRATEGIES = ("priority", "weighted", "price", "latency", "throughput")

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """A setting that cannot work; the message says which and why."""


@dataclass(frozen=True)
class ProviderConfig:
    id: str
    type: str
    api_key: str | None = None
    base_url: str | None = None
    region: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RouteConfig:
    provider: str
    model: str
    pricing: dict | list | None = None   # a price, or a schedule of prices (billing/schedule.py)
    weight: float = 1.0            # for the weighted strategy


@dataclass(frozen=True)
class ModelConfig:
    id: str
    routes: tuple[RouteConfig, ...]
    name: str | None = None
    context_length: int | None = None
    max_output_tokens: int | None = None
    kind: str | None = None        # chat | embedding; from the catalog when the route's model is there
    strategy: str = "priority"     # priority | weighted | price | latency | throughput


@dataclass
class Settings:
    database_url: str = "sqlite:///alltoken.db"
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    providers: list[ProviderConfig] = field(default_factory=list)
    models: list[ModelConfig] = field(default_factory=list)
    demo_enabled: bool = False
    notices: list[str] = field(default_factory=list)    # logged at start
    shutdown_grace_seconds: float = 30.0
    usage_flush_interval: float = 0.2
    cache_refresh_interval: float = 0.25
    upstream_timeout_seconds: float = 600.0
    first_byte_timeout_seconds: float = 120.0   # a route that has not started answering by then is failed over
    route_retries: int = 1                      # extra tries of the last route after a retryable failure
    max_retry_wait_seconds: float = 5.0         # longer Retry-After than this: give up instead of waiting
    breaker: dict = field(default_factory=dict)  # routing.health.BreakerSettings fields
    markup: "Markup" = field(default_factory=lambda: Markup())   # platform fee on provider prices
    console_dir: str | None = None               # the built web console; None: the one scripts/setup builds
    config_path: Path | None = None


def load_settings(config_path: str | None = None, overrides: dict | None = None, env: dict | None = None) -> Settings:
    env = os.environ if env is None else env
    path = _config_path(config_path, env)
    raw = _read_yaml(path, env) if path else {}
    settings = Settings(config_path=path)
    _apply_scalars(settings, raw, source="config file")
    _apply_scalars(settings, _env_scalars(env), source="environment")
    _apply_scalars(settings, {k: v for k, v in (overrides or {}).items() if v is not None}, source="flag")
    settings.providers = _providers(raw.get("providers"), env, settings.notices)
    settings.models = _models(raw.get("models"))
    settings.breaker = _breaker(raw.get("breaker"))
    settings.markup = _markup(raw.get("markup"))
    settings.demo_enabled = not settings.providers
    if settings.demo_enabled:
        settings.providers = [ProviderConfig(id="demo", type="demo")]
    _check(settings)
    return settings


def _config_path(flag: str | None, env) -> Path | None:
    chosen = flag or env.get("ALLTOKEN_CONFIG")
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    default = Path("alltoken.yaml")
    return default if default.is_file() else None


def _read_yaml(path: Path, env) -> dict:
    text = _ENV_REF.sub(lambda m: env.get(m.group(1), ""), path.read_text())
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data


def _env_scalars(env) -> dict:
    names = {"database_url": "ALLTOKEN_DATABASE_URL", "redis_url": "ALLTOKEN_REDIS_URL",
             "host": "ALLTOKEN_HOST", "port": "ALLTOKEN_PORT", "workers": "ALLTOKEN_WORKERS",
             "console_dir": "ALLTOKEN_CONSOLE_DIR"}
    return {key: env[var] for key, var in names.items() if env.get(var)}


_SCALARS = {"database_url": str, "redis_url": str, "host": str, "port": int, "workers": int,
            "shutdown_grace_seconds": float, "usage_flush_interval": float,
            "cache_refresh_interval": float, "upstream_timeout_seconds": float,
            "first_byte_timeout_seconds": float, "route_retries": int, "max_retry_wait_seconds": float,
            "console_dir": str}


def _apply_scalars(settings: Settings, values: dict, source: str) -> None:
    for key, kind in _SCALARS.items():
        if key in values and values[key] is not None:
            try:
                setattr(settings, key, kind(values[key]))
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{key} from {source}: expected {kind.__name__}, got {values[key]!r}") from exc


def _providers(raw, env, notices: list[str]) -> list[ProviderConfig]:
    if raw is None:
        return _providers_from_env(env, notices)
    if not isinstance(raw, list):
        raise ConfigError("providers: expected a list")
    providers = [_provider(entry) for entry in raw]
    ids = [p.id for p in providers]
    if len(ids) != len(set(ids)):
        raise ConfigError(f"providers: ids must be unique, got {ids}")
    return providers


def _provider(entry) -> ProviderConfig:
    if not isinstance(entry, dict) or not entry.get("id") or not entry.get("type"):
        raise ConfigError(f"providers: each entry needs an id and a type, got {entry!r}")
    if entry["type"] not in PROVIDER_TYPES:
        raise ConfigError(f"provider {entry['id']}: unknown type {entry['type']!r}; one of {', '.join(PROVIDER_TYPES)}")
    known = {"id", "type", "api_key", "base_url", "region", "aws_access_key_id", "aws_secret_access_key"}
    fields = {k: (str(v) if v is not None else None) for k, v in entry.items() if k in known}
    options = {k: v for k, v in entry.items() if k not in known}
    return ProviderConfig(**fields, options=options)


def _providers_from_env(env, notices: list[str]) -> list[ProviderConfig]:
    from .providers.registry import AVAILABLE_TYPES

    found = [ProviderConfig(id=kind, type=kind, api_key=env[var])
             for kind, var in ENV_PROVIDERS.items() if env.get(var)]
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        session_token = env.get("AWS_SESSION_TOKEN")     # temporary (STS) credentials need it to sign
        found.append(ProviderConfig(id="bedrock", type="bedrock", region=env.get("AWS_REGION", "us-east-1"),
                                    aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                    options={"aws_session_token": session_token} if session_token else {}))
    for provider in found:
        if provider.type not in AVAILABLE_TYPES:
            notices.append(f"credentials for {provider.type} are set in the environment, but that provider is not "
                           "available in this release; ignoring them")
    return [provider for provider in found if provider.type in AVAILABLE_TYPES]


def _models(raw) -> list[ModelConfig]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError("models: expected a list")
    return [parse_model(entry) for entry in raw]


def parse_model(entry) -> ModelConfig:
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
    if kind not in (None, "chat", "embedding"):
        raise ConfigError(f"model {entry['id']}: kind must be chat or embedding, got {kind!r}")
    strategy = entry.get("strategy", "priority")
    if strategy not in STRATEGIES:
        raise ConfigError(f"model {entry['id']}: strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    return ModelConfig(id=entry["id"], routes=tuple(parsed), name=entry.get("name"), kind=kind, strategy=strategy,
                       context_length=entry.get("context_length"), max_output_tokens=entry.get("max_output_tokens"))


@dataclass(frozen=True)
class Markup:
    """The platform fee on provider prices, in basis points (100 = 1%): the most specific wins."""

    default: int = 0
    providers: dict = field(default_factory=dict)   # provider id -> basis points
    models: dict = field(default_factory=dict)      # public model id -> basis points

    def for_route(self, model_id: str, provider_id: str) -> int:
        return self.models.get(model_id, self.providers.get(provider_id, self.default))


def _markup(raw) -> Markup:
    """`markup: {percent: "5", providers: {openai: "3"}, models: {"acme/x": "0"}}`, percents as decimals."""
    if raw is None:
        return Markup()
    if not isinstance(raw, dict) or set(raw) - {"percent", "providers", "models"}:
        raise ConfigError("markup: expected a mapping with percent, providers and models")

    def points(value, where: str) -> int:
        try:
            bp = Decimal(str(value)) * 100
        except InvalidOperation:
            bp = Decimal(-1)
        if isinstance(value, bool) or not bp.is_finite() or bp < 0 or bp != bp.to_integral_value():
            raise ConfigError(f"markup {where}: a percentage of 0 or more with at most 2 decimals, got {value!r}")
        return int(bp)

    def table(name: str) -> dict:
        entries = raw.get(name) or {}
        if not isinstance(entries, dict):
            raise ConfigError(f"markup.{name}: expected a mapping of id to percent")
        return {str(key): points(value, f"{name}.{key}") for key, value in entries.items()}

    return Markup(points(raw.get("percent", 0), "percent"), table("providers"), table("models"))


def _breaker(raw) -> dict:
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


def _check(settings: Settings) -> None:
    if not 0 < settings.port < 65536:
        raise ConfigError(f"port must be 1-65535, got {settings.port}")
    if settings.workers < 1:
        raise ConfigError("workers must be at least 1")
    if settings.route_retries < 0:
        raise ConfigError("route_retries must be 0 or more")
    for name in ("first_byte_timeout_seconds", "upstream_timeout_seconds", "usage_flush_interval",
                 "cache_refresh_interval", "shutdown_grace_seconds"):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"{name} must be more than 0")
    if settings.max_retry_wait_seconds < 0:
        raise ConfigError("max_retry_wait_seconds must be 0 or more")
    if settings.workers > 1 and not settings.redis_url:
        raise ConfigError(
            f"--workers {settings.workers} needs shared state: set ALLTOKEN_REDIS_URL (or redis_url:) "
            "so rate limits, balances and revocations hold across processes; without Redis run one worker")
    provider_ids = {p.id for p in settings.providers}
    for model in settings.models:
        for route in model.routes:
            if route.provider not in provider_ids:
                raise ConfigError(f"model {model.id}: route names unknown provider {route.provider!r}")
