"""Settings: flags > environment > config file > defaults, in one place. Each section's own
settings and checks live in its module of this package."""

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alltoken.config import billing, email, governance, images, routing, sign_up
from alltoken.config.billing import Markup, StripeSettings
from alltoken.config.email import AlertSettings, SmtpSettings
from alltoken.config.governance import RegionSettings, RetentionSettings, TermsSettings
from alltoken.config.images import ImageSettings
from alltoken.config.provider_types import ProviderConfig
from alltoken.config.rate_limits import RateLimitSettings
from alltoken.config.routing import ModelConfig
from alltoken.config.sign_up import SignUpSettings
from alltoken.config.values import ConfigError, boolean, positive, section

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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
    breaker: dict[str, Any] = field(default_factory=dict)  # routing.health.BreakerSettings fields
    markup: Markup = field(default_factory=lambda: Markup())   # platform fee on provider prices
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)   # tiers and reduced limits
    key_rotation_grace_seconds: int = 86400     # how long a rotated key's old secret keeps working
    stripe: StripeSettings = field(default_factory=lambda: StripeSettings())   # card top-ups
    smtp: SmtpSettings | None = None                           # outgoing email; None sends none
    alerts: AlertSettings = field(default_factory=lambda: AlertSettings())
    images: ImageSettings = field(default_factory=lambda: ImageSettings())
    regions: RegionSettings = field(default_factory=lambda: RegionSettings())
    terms: TermsSettings = field(default_factory=lambda: TermsSettings())
    retention: RetentionSettings = field(default_factory=lambda: RetentionSettings())
    console_dir: str | None = None               # the built web console; None: the one scripts/setup builds
    console_url: str | None = None               # the console's public address, for emailed links; None: host:port
    sign_up: SignUpSettings = field(default_factory=lambda: SignUpSettings())
    secure_cookies: bool = False                 # always mark the session cookie Secure (else: when over TLS)
    config_path: Path | None = None


def load_settings(config_path: str | None = None, overrides: dict[str, Any] | None = None,
                  env: Mapping[str, str] | None = None) -> Settings:
    environ: Mapping[str, str] = os.environ if env is None else env
    path = _config_path(config_path, environ)
    raw = _read_yaml(path, environ) if path else {}
    settings = Settings(config_path=path)
    _apply_scalars(settings, raw, source="config file")
    _apply_scalars(settings, _env_scalars(environ), source="environment")
    _apply_scalars(settings, {k: v for k, v in (overrides or {}).items() if v is not None}, source="flag")
    settings.providers = routing.providers(raw.get("providers"), environ)
    settings.models = routing.models(raw.get("models"))
    settings.breaker = routing.breaker(raw.get("breaker"))
    settings.markup = billing.markup(raw.get("markup"))
    settings.rate_limits = governance.rate_limits(raw.get("rate_limits"))
    settings.stripe = billing.stripe(raw.get("stripe"), environ)
    settings.smtp = email.smtp(raw.get("smtp"), environ)
    settings.sign_up = sign_up.sign_up(section(raw, "sign_up", sign_up.KEYS), settings.smtp is not None)
    settings.alerts = email.alerts(raw.get("alerts"), environ)
    settings.images = images.images(raw.get("images"))
    settings.regions = governance.regions(section(raw, "regions", governance.REGION_KEYS))
    terms = section(raw, "terms", {"grace_days"})
    settings.terms = TermsSettings(grace_days=positive(terms, "terms", "grace_days", 30))
    retention = section(raw, "retention", {"ledger_days", "purge_interval_seconds", "usage_days", "usage_purge_batch"})
    settings.retention = RetentionSettings(ledger_days=positive(retention, "retention", "ledger_days", 2555),
                                           purge_interval_seconds=positive(retention, "retention",
                                                                            "purge_interval_seconds", 3600),
                                           **governance.usage_retention(retention))
    settings.demo_enabled = not settings.providers
    if settings.demo_enabled:
        settings.providers = [ProviderConfig(id="demo", type="demo")]
    _check(settings)
    return settings


def _config_path(flag: str | None, env: Mapping[str, str]) -> Path | None:
    chosen = flag or env.get("ALLTOKEN_CONFIG")
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    default = Path("alltoken.yaml")
    return default if default.is_file() else None


def _read_yaml(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    text = _ENV_REF.sub(lambda m: env.get(m.group(1), ""), path.read_text())
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data


def _env_scalars(env: Mapping[str, str]) -> dict[str, str]:
    names = {"database_url": "ALLTOKEN_DATABASE_URL", "redis_url": "ALLTOKEN_REDIS_URL",
             "redis_prefix": "ALLTOKEN_REDIS_PREFIX",
             "host": "ALLTOKEN_HOST", "port": "ALLTOKEN_PORT", "workers": "ALLTOKEN_WORKERS",
             "console_dir": "ALLTOKEN_CONSOLE_DIR", "console_url": "ALLTOKEN_CONSOLE_URL",
             "secure_cookies": "ALLTOKEN_SECURE_COOKIES"}
    return {key: env[var] for key, var in names.items() if env.get(var)}


_SCALARS: dict[str, Callable[[Any], Any]] = {
            "database_url": str, "redis_url": str, "redis_prefix": str, "host": str, "port": int, "workers": int,
            "shutdown_grace_seconds": float, "usage_flush_interval": float,
            "cache_refresh_interval": float, "upstream_timeout_seconds": float,
            "first_byte_timeout_seconds": float, "route_retries": int, "max_retry_wait_seconds": float,
            "key_rotation_grace_seconds": int,
            "usage_claim_idle_seconds": float,
            "console_dir": str, "console_url": str, "secure_cookies": boolean}


def _apply_scalars(settings: Settings, values: Mapping[str, Any], source: str) -> None:
    for key, kind in _SCALARS.items():
        if key in values and values[key] is not None:
            try:
                setattr(settings, key, kind(values[key]))
            except (TypeError, ValueError) as exc:
                expected = getattr(kind, "__name__", str(kind))
                raise ConfigError(f"{key} from {source}: expected {expected}, got {values[key]!r}") from exc


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
