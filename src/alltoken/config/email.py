"""Outgoing email (`smtp:`) and the low-balance alerts sent by it (`alerts:`)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alltoken.config.values import ConfigError


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


def smtp(raw: object, env: Mapping[str, str]) -> SmtpSettings | None:
    """`smtp: {host, port, username, password, security, from, timeout_seconds}`; ALLTOKEN_SMTP_* win."""
    if raw is not None and (not isinstance(raw, dict) or set(raw) - set(_SMTP_ENV)):
        raise ConfigError(f"smtp: expected a mapping with any of {', '.join(_SMTP_ENV)}")
    given: dict[str, Any] = raw if isinstance(raw, dict) else {}
    values = {**given, **{name: env[var] for name, var in _SMTP_ENV.items() if env.get(var)}}
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


def alerts(raw: object, env: Mapping[str, str]) -> AlertSettings:
    if raw is not None and (not isinstance(raw, dict) or set(raw) - {"interval_seconds", "top_up_url"}):
        raise ConfigError("alerts: expected a mapping with interval_seconds and top_up_url")
    section: dict[str, Any] = raw if isinstance(raw, dict) else {}
    given = env.get("ALLTOKEN_ALERTS_INTERVAL_SECONDS") or section.get("interval_seconds", 60)
    try:
        interval = float(given)
    except (TypeError, ValueError):
        interval = 0.0
    if interval <= 0:
        raise ConfigError(f"alerts.interval_seconds must be a number of seconds more than 0, got {given!r}")
    return AlertSettings(interval, str(section["top_up_url"]) if section.get("top_up_url") else None)
