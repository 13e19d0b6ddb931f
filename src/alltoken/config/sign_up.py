"""Sign-up protections (`sign_up:`): how many sign-ups one address, and everyone together, may make, and
whether a new user verifies their email before their account makes API keys."""

from dataclasses import dataclass
from typing import Any

from alltoken.config.values import ConfigError

KEYS = {"per_address_per_hour", "per_minute", "email_verification"}


@dataclass(frozen=True)
class SignUpSettings:
    per_address_per_hour: int = 5      # sign-ups from one client address in any hour
    per_minute: int = 30               # sign-ups from everyone together in any minute
    email_verification: bool = False   # resolved at load: on by default when smtp is configured


def sign_up(raw: dict[str, Any], smtp_configured: bool) -> SignUpSettings:
    limits = {key: raw.get(key, getattr(SignUpSettings, key)) for key in ("per_address_per_hour", "per_minute")}
    for key, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"sign_up.{key}: a whole number of 1 or more, got {value!r}")
    verification = raw.get("email_verification")
    if verification is None:
        verification = smtp_configured
    if not isinstance(verification, bool):
        raise ConfigError(f"sign_up.email_verification: true or false, got {verification!r}")
    if verification and not smtp_configured:
        raise ConfigError("sign_up.email_verification needs smtp settings: the verification link is emailed")
    return SignUpSettings(**limits, email_verification=verification)
