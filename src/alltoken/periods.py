"""Budget periods for limits that reset (keys', team members'): calendar days, ISO weeks and months, in UTC."""

from datetime import UTC, datetime, timedelta
from typing import overload

RESETS = ("daily", "weekly", "monthly")


@overload
def period_start(reset: str, now: datetime) -> datetime: ...
@overload
def period_start(reset: None, now: datetime) -> None: ...
@overload
def period_start(reset: str | None, now: datetime) -> datetime | None: ...
def period_start(reset: str | None, now: datetime) -> datetime | None:
    """Start of the period `now` falls in (None for a limit that never resets)."""
    if reset is None:
        return None
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if reset == "daily":
        return day
    if reset == "weekly":
        return day - timedelta(days=day.weekday())
    if reset == "monthly":
        return day.replace(day=1)
    raise ValueError(f"limit reset must be one of {', '.join(RESETS)}")


def next_reset(reset: str, now: datetime) -> datetime:
    start = period_start(reset, now)
    if reset == "daily":
        return start + timedelta(days=1)
    if reset == "weekly":
        return start + timedelta(weeks=1)
    return (start + timedelta(days=32)).replace(day=1)


def member_period_start(reset: str | None, joined_at: datetime, now: datetime) -> datetime:
    """A team member's spend counts from the start of the current period, or from when they joined
    if that is later (a limit that never resets counts everything since joining)."""
    start = period_start(reset, now)
    return joined_at if start is None or start < joined_at else start
