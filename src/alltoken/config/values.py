"""What every settings section shares: the error a bad setting raises, and the checks of one value."""

from decimal import Decimal, InvalidOperation
from typing import Any


class ConfigError(ValueError):
    """A setting that cannot work; the message says which and why."""


def basis_points(value: object, where: str) -> int:
    """A percentage written as a decimal ("8.25"), as an integer number of basis points (825)."""
    return hundredths(value, where, "a percentage")


def hundredths(value: object, where: str, what: str) -> int:
    """A decimal with at most 2 places ("8.25", "5"), exactly, times 100; floats in YAML go through str()."""
    try:
        scaled = Decimal(str(value)) * 100
    except InvalidOperation:
        scaled = Decimal(-1)
    if isinstance(value, bool) or not scaled.is_finite() or scaled < 0 or scaled != scaled.to_integral_value():
        raise ConfigError(f"{where}: {what} of 0 or more with at most 2 decimals, got {value!r}")
    return int(scaled)


def section(raw: dict[str, Any], name: str, known: set[str]) -> dict[str, Any]:
    found = raw.get(name) or {}
    if not isinstance(found, dict) or set(found) - known:
        raise ConfigError(f"{name}: expected a mapping with any of {', '.join(sorted(known))}")
    return found


def positive(section: dict[str, Any], section_name: str, key: str, default: float) -> float:
    """A number more than 0; fractions allowed (periods of time, not money)."""
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{section_name}.{key}: a number more than 0, got {value!r}")
    return float(value)


def boolean(value: object) -> bool:
    """true/false from YAML, or their spellings in an environment variable (true/false, 1/0, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    spelled = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
    if str(value).strip().lower() not in spelled:
        raise ValueError(f"not true or false: {value!r}")
    return spelled[str(value).strip().lower()]
