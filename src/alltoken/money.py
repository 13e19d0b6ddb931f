"""Integer money. One unit is 1e-12 USD (a pico-dollar).

Every per-token price in the catalog has at most 12 decimal places, so
`tokens * price_units` is exact: no rounding anywhere on the money path.
Decimal strings exist only at the edges (config, CLI, management API).
"""

from decimal import Decimal, InvalidOperation

UNITS_PER_USD = 10**12
_QUANTUM = Decimal(1) / UNITS_PER_USD


class MoneyFormatError(ValueError):
    """A USD amount that is not a plain decimal with at most 12 places."""


def usd_to_units(usd: str | int | Decimal) -> int:
    """Parse a USD decimal string exactly; refuse floats and excess precision."""
    if isinstance(usd, float):
        raise MoneyFormatError("money must not be a float; pass a decimal string")
    try:
        value = Decimal(str(usd).strip())
    except InvalidOperation as exc:
        raise MoneyFormatError(f"not a decimal amount: {usd!r}") from exc
    if not value.is_finite():
        raise MoneyFormatError(f"not a finite amount: {usd!r}")
    units = value * UNITS_PER_USD
    if units != units.to_integral_value():
        raise MoneyFormatError(f"{usd!r} has more than 12 decimal places")
    return int(units)


def units_to_decimal(units: int) -> Decimal:
    return (Decimal(units) * _QUANTUM).normalize() if units else Decimal(0)


def units_to_usd_str(units: int, min_places: int = 6) -> str:
    """Exact decimal string for people and APIs: at least `min_places` decimals, more only when
    the amount has them (e.g. '12.345678', '1.9994897'). Never rounded."""
    text = f"{Decimal(units) * _QUANTUM:.12f}"
    whole, fraction = text.split(".")
    fraction = fraction.rstrip("0").ljust(min_places, "0")
    return f"{whole}.{fraction}" if fraction else whole


def units_to_usd_number(units: int) -> float:
    """For JSON fields that are numbers (usage.cost). Shortest repr round-trips the decimal."""
    return float(units_to_decimal(units))
