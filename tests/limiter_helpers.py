"""What the rate-limiter tests share, whichever backend they test: a settable clock and a one-minute window."""

from alltoken.limits.base import Window


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def window(key: str, limit: int, units: int = 1, entry: str | None = None) -> Window:
    return Window(key, limit, 60.0, units, entry)
