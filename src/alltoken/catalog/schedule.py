"""Price schedules: a route's `pricing` may be a list of prices, each from a stated time on.

The price charged for a request is the one in effect when it was admitted; a later change never
touches a charge already made (ledger entries are immutable).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")


def parse_schedule(pricing: object) -> list[tuple[datetime | None, dict[str, Any]]]:
    """[(from, usd table)] sorted by time; a plain mapping is one price in effect from always."""
    if isinstance(pricing, dict):
        return [(None, pricing)]
    if not isinstance(pricing, list) or not pricing:
        raise ValueError("pricing must be a mapping, or a list of mappings each with a 'from' time")
    schedule: list[tuple[datetime, dict[str, Any]]] = []
    for item in pricing:
        if not isinstance(item, dict) or "from" not in item:
            raise ValueError("each scheduled price needs 'from' (ISO 8601 with a timezone)")
        schedule.append((_time(item["from"]), {k: v for k, v in item.items() if k != "from"}))
    return [entry for entry in sorted(schedule, key=lambda entry: entry[0])]


def in_effect(schedule: Sequence[tuple[datetime | None, T]], now: datetime) -> T | None:
    """The value of the latest entry that has started by `now` (None if none has)."""
    current: T | None = None
    for starts, value in schedule:
        if starts is None or starts <= now:
            current = value
    return current


def next_change(schedule: Sequence[tuple[datetime | None, object]], now: datetime) -> datetime | None:
    return min((starts for starts, _ in schedule if starts is not None and starts > now), default=None)


def _time(value: object) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"'from' needs a timezone, e.g. 2027-01-01T00:00:00Z: {value!r}")
    return parsed
