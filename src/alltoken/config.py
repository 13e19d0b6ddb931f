"""Settings: flags > environment > config file > defaults, in one place."""

import ipaddress
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from .limits.policy import RateLimitSettings

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
    kind: str | None = None        # chat | embedding | image; from the catalog when the route's model is there
    strategy: str = "priority"     # priority | weighted | price | latency | throughput


@dataclass
class Settings:
    database_url: str = "sqlite:///alltoken.db"
    redis_url: str | None = None
    redis_prefix: str = "alltoken:"             # namespaces every shared-state key and channel in Redis
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
    usage_claim_idle_seconds: float = 10.0      # with Redis: another process writes usage a dead one left unwritten
    upstream_timeout_seconds: float = 600.0
    first_byte_timeout_seconds: float = 120.0   # a route that has not started answering by then is failed over
    route_retries: int = 1                      # extra tries of the last route after a retryable failure
    max_retry_wait_seconds: float = 5.0         # longer Retry-After than this: give up instead of waiting
    breaker: dict = field(default_factory=dict)  # routing.health.BreakerSettings fields
    markup: "Markup" = field(default_factory=lambda: Markup())   # platform fee on provider prices
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)   # tiers and reduced limits
    key_rotation_grace_seconds: int = 86400     # how long a rotated key's old secret keeps working
    stripe: "StripeSettings" = field(default_factory=lambda: StripeSettings())   # card top-ups
    smtp: "SmtpSettings | None" = None                           # outgoing email; None sends none
    alerts: "AlertSettings" = field(default_factory=lambda: AlertSettings())
    images: "ImageSettings" = field(default_factory=lambda: ImageSettings())
    regions: "RegionSettings" = field(default_factory=lambda: RegionSettings())
    terms: "TermsSettings" = field(default_factory=lambda: TermsSettings())
    retention: "RetentionSettings" = field(default_factory=lambda: RetentionSettings())
    console_dir: str | None = None               # the built web console; None: the one scripts/setup builds
    console_url: str | None = None               # the console's public address, for emailed links; None: host:port
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
    settings.rate_limits = _rate_limits(raw.get("rate_limits"))
    settings.stripe = _stripe(raw.get("stripe"), env)
    settings.smtp = _smtp(raw.get("smtp"), env)
    settings.alerts = _alerts(raw.get("alerts"), env)
    settings.images = _images(raw.get("images"))
    settings.regions = _regions(_section(raw, "regions", _REGION_KEYS))
    terms = _section(raw, "terms", {"grace_days"})
    settings.terms = TermsSettings(grace_days=_positive(terms, "terms", "grace_days", 30))
    retention = _section(raw, "retention", {"ledger_days", "purge_interval_seconds", "usage_days", "usage_purge_batch"})
    settings.retention = RetentionSettings(ledger_days=_positive(retention, "retention", "ledger_days", 2555),
                                           purge_interval_seconds=_positive(retention, "retention",
                                                                            "purge_interval_seconds", 3600),
                                           **_usage_retention(retention))
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
             "redis_prefix": "ALLTOKEN_REDIS_PREFIX",
             "host": "ALLTOKEN_HOST", "port": "ALLTOKEN_PORT", "workers": "ALLTOKEN_WORKERS",
             "console_dir": "ALLTOKEN_CONSOLE_DIR", "console_url": "ALLTOKEN_CONSOLE_URL"}
    return {key: env[var] for key, var in names.items() if env.get(var)}


_SCALARS = {"database_url": str, "redis_url": str, "redis_prefix": str, "host": str, "port": int, "workers": int,
            "shutdown_grace_seconds": float, "usage_flush_interval": float,
            "cache_refresh_interval": float, "upstream_timeout_seconds": float,
            "first_byte_timeout_seconds": float, "route_retries": int, "max_retry_wait_seconds": float,
            "key_rotation_grace_seconds": int,
            "usage_claim_idle_seconds": float,
            "console_dir": str, "console_url": str}


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
    if kind not in (None, "chat", "embedding", "image"):
        raise ConfigError(f"model {entry['id']}: kind must be chat, embedding or image, got {kind!r}")
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

    def table(name: str) -> dict:
        entries = raw.get(name) or {}
        if not isinstance(entries, dict):
            raise ConfigError(f"markup.{name}: expected a mapping of id to percent")
        return {str(key): _basis_points(value, f"markup {name}.{key}") for key, value in entries.items()}

    return Markup(_basis_points(raw.get("percent", 0), "markup percent"), table("providers"), table("models"))


def _basis_points(value, where: str) -> int:
    """A percentage written as a decimal ("8.25"), as an integer number of basis points (825)."""
    return _hundredths(value, where, "a percentage")


def _hundredths(value, where: str, what: str) -> int:
    """A decimal with at most 2 places ("8.25", "5"), exactly, times 100; floats in YAML go through str()."""
    try:
        hundredths = Decimal(str(value)) * 100
    except InvalidOperation:
        hundredths = Decimal(-1)
    if isinstance(value, bool) or not hundredths.is_finite() or hundredths < 0 \
            or hundredths != hundredths.to_integral_value():
        raise ConfigError(f"{where}: {what} of 0 or more with at most 2 decimals, got {value!r}")
    return int(hundredths)


@dataclass(frozen=True)
class StripeSettings:
    """Card top-ups through Stripe Checkout (payments/). No secret key: top-ups are off."""

    secret_key: str | None = None
    webhook_secret: str | None = None
    api_base: str = "https://api.stripe.com"
    success_url: str | None = None
    cancel_url: str | None = None
    currency: str = "usd"
    tax_basis_points: int = 0                # tax added on top of the credit bought; 825 = 8.25%
    minimum_cents: int = 500                 # smallest credit one top-up may buy
    auto_topup_interval_seconds: float = 15.0

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key)


_STRIPE_KEYS = {"secret_key", "webhook_secret", "api_base", "success_url", "cancel_url", "currency", "tax_percent",
                "minimum_usd", "auto_topup_interval_seconds"}


def _stripe(raw, env) -> StripeSettings:
    raw = raw or {}
    if not isinstance(raw, dict) or set(raw) - _STRIPE_KEYS:
        raise ConfigError(f"stripe: expected a mapping with any of {', '.join(sorted(_STRIPE_KEYS))}")
    text = {name: (str(raw[name]) if raw.get(name) not in (None, "") else None)
            for name in ("secret_key", "webhook_secret", "api_base", "success_url", "cancel_url", "currency")}
    text["secret_key"] = env.get("ALLTOKEN_STRIPE_SECRET_KEY") or text["secret_key"]
    text["webhook_secret"] = env.get("ALLTOKEN_STRIPE_WEBHOOK_SECRET") or text["webhook_secret"]
    currency = (text["currency"] or "usd").lower()
    if currency != "usd":
        raise ConfigError(f"stripe.currency: credit is kept in USD, so top-ups are charged in usd; got {currency!r}")
    try:
        interval = float(raw.get("auto_topup_interval_seconds", 15))
    except (TypeError, ValueError):
        interval = 0.0
    if interval <= 0:
        raise ConfigError("stripe.auto_topup_interval_seconds must be a number of seconds more than 0")
    minimum = _hundredths(raw.get("minimum_usd", 5), "stripe.minimum_usd", "a USD amount")   # -> cents
    if minimum < 50:
        raise ConfigError("stripe.minimum_usd: Stripe charges no less than 0.50 USD")
    settings = StripeSettings(
        secret_key=text["secret_key"], webhook_secret=text["webhook_secret"],
        api_base=(text["api_base"] or StripeSettings.api_base).rstrip("/"), success_url=text["success_url"],
        cancel_url=text["cancel_url"], currency=currency,
        tax_basis_points=_basis_points(raw.get("tax_percent", 0), "stripe.tax_percent"),
        minimum_cents=minimum, auto_topup_interval_seconds=interval)
    missing = [name for name in ("webhook_secret", "success_url", "cancel_url") if settings.enabled
               and not getattr(settings, name)]
    if missing:
        raise ConfigError(f"stripe: a secret_key is set, so top-ups also need {', '.join(missing)} "
                          "(the webhook signing secret, and where Checkout sends the customer back)")
    return settings


@dataclass(frozen=True)
class SmtpSettings:
    """Where email (low-balance alerts) goes out. `security`: starttls | tls | none."""

    host: str
    port: int
    sender: str                     # the From address (`from:` in the file)
    username: str | None = None
    password: str | None = None
    security: str = "starttls"
    timeout_seconds: float = 30.0


SMTP_SECURITY = {"starttls": 587, "tls": 465, "none": 25}   # and each one's usual port
_SMTP_ENV = {"host": "ALLTOKEN_SMTP_HOST", "port": "ALLTOKEN_SMTP_PORT", "username": "ALLTOKEN_SMTP_USERNAME",
             "password": "ALLTOKEN_SMTP_PASSWORD", "security": "ALLTOKEN_SMTP_SECURITY", "from": "ALLTOKEN_SMTP_FROM",
             "timeout_seconds": "ALLTOKEN_SMTP_TIMEOUT_SECONDS"}


def _smtp(raw, env) -> SmtpSettings | None:
    """`smtp: {host, port, username, password, security, from, timeout_seconds}`; ALLTOKEN_SMTP_* win."""
    if raw is not None and (not isinstance(raw, dict) or set(raw) - set(_SMTP_ENV)):
        raise ConfigError(f"smtp: expected a mapping with any of {', '.join(_SMTP_ENV)}")
    values = {**(raw or {}), **{name: env[var] for name, var in _SMTP_ENV.items() if env.get(var)}}
    if not values.get("host"):
        if values:
            raise ConfigError("smtp: host is required (or leave smtp out to send no email)")
        return None
    security = str(values.get("security", "starttls")).lower()
    if security not in SMTP_SECURITY:
        raise ConfigError(f"smtp.security must be one of {', '.join(SMTP_SECURITY)}, got {security!r}")
    if not values.get("from"):
        raise ConfigError("smtp.from is required: the address alert emails are sent from")
    try:
        port, timeout = int(values.get("port", SMTP_SECURITY[security])), float(values.get("timeout_seconds", 30))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"smtp: port must be a number and timeout_seconds a number of seconds: {exc}") from None
    if not 0 < port < 65536 or timeout <= 0:
        raise ConfigError("smtp: port must be 1-65535 and timeout_seconds more than 0")
    optional = {name: str(values[name]) for name in ("username", "password") if values.get(name)}
    return SmtpSettings(host=str(values["host"]), port=port, sender=str(values["from"]), security=security,
                        timeout_seconds=timeout, **optional)


@dataclass(frozen=True)
class AlertSettings:
    """Low-balance alerts: how often every server checks, and a top-up link for the email."""

    interval_seconds: float = 60.0
    top_up_url: str | None = None


def _alerts(raw, env) -> AlertSettings:
    if raw is not None and (not isinstance(raw, dict) or set(raw) - {"interval_seconds", "top_up_url"}):
        raise ConfigError("alerts: expected a mapping with interval_seconds and top_up_url")
    raw = raw or {}
    given = env.get("ALLTOKEN_ALERTS_INTERVAL_SECONDS") or raw.get("interval_seconds", 60)
    try:
        interval = float(given)
    except (TypeError, ValueError):
        interval = 0.0
    if interval <= 0:
        raise ConfigError(f"alerts.interval_seconds must be a number of seconds more than 0, got {given!r}")
    return AlertSettings(interval, str(raw["top_up_url"]) if raw.get("top_up_url") else None)


@dataclass(frozen=True)
class ImageSettings:
    """Limits on image uploads (/v1/images/edits and /variations) and the moderation log's retention."""

    max_image_bytes: int = 50 * 1024 * 1024      # each uploaded image (OpenAI: under 50 MB)
    max_mask_bytes: int = 4 * 1024 * 1024        # the mask (OpenAI: under 4 MB)
    max_images: int = 16                         # image parts in one edit (OpenAI: up to 16)
    max_request_bytes: int = 128 * 1024 * 1024   # the whole multipart body
    moderation_log_retention_days: int = 365
    purge_interval_seconds: float = 3600.0       # how often records past retention are deleted


def _images(raw) -> ImageSettings:
    if raw is None:
        return ImageSettings()
    known = {name: type(value) for name, value in ImageSettings().__dict__.items()}
    if not isinstance(raw, dict) or set(raw) - set(known):
        raise ConfigError(f"images: expected a mapping with any of {', '.join(known)}")
    try:
        values = {name: known[name](value) for name, value in raw.items() if not isinstance(value, bool)}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"images: {exc}") from exc
    if len(values) != len(raw) or any(value <= 0 for value in values.values()):
        raise ConfigError("images: every value must be a number more than 0")
    return ImageSettings(**values)


@dataclass(frozen=True)
class RegionSettings:
    """Countries kept out (sanctions, embargoes), and where a request's country comes from."""

    blocked_countries: frozenset[str] = frozenset()     # ISO 3166-1 alpha-2, upper case
    country_header: str | None = None                   # e.g. CF-IPCountry; believed from trusted proxies only
    trusted_proxies: tuple = ()                         # ipaddress networks
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


def _usage_retention(section: dict) -> dict:
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
_REGION_KEYS = {"blocked_countries", "country_header", "trusted_proxies", "geoip_database", "unknown_country"}


def _regions(raw: dict) -> RegionSettings:
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


def _section(raw: dict, name: str, known: set[str]) -> dict:
    section = raw.get(name) or {}
    if not isinstance(section, dict) or set(section) - known:
        raise ConfigError(f"{name}: expected a mapping with any of {', '.join(sorted(known))}")
    return section


def _positive(section: dict, section_name: str, key: str, default: float) -> float:
    """A number more than 0; fractions allowed (periods of time, not money)."""
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{section_name}.{key}: a number more than 0, got {value!r}")
    return float(value)


def _rate_limits(raw) -> RateLimitSettings:
    try:
        return RateLimitSettings.parse(raw)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


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
                 "cache_refresh_interval", "shutdown_grace_seconds", "usage_claim_idle_seconds"):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"{name} must be more than 0")
    if settings.max_retry_wait_seconds < 0:
        raise ConfigError("max_retry_wait_seconds must be 0 or more")
    if settings.key_rotation_grace_seconds < 0:
        raise ConfigError("key_rotation_grace_seconds must be 0 or more")
    if settings.workers > 1 and not settings.redis_url:
        raise ConfigError(
            f"--workers {settings.workers} needs shared state: set ALLTOKEN_REDIS_URL (or redis_url:) "
            "so rate limits, balances and revocations hold across processes; without Redis run one worker")
    provider_ids = {p.id for p in settings.providers}
    for model in settings.models:
        for route in model.routes:
            if route.provider not in provider_ids:
                raise ConfigError(f"model {model.id}: route names unknown provider {route.provider!r}")
