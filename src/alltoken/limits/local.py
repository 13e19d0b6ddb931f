"""In-process rate limiter (the embedded default): exact sliding windows and concurrency gates.

A window keeps every (time, units) entry still inside it, so "at most N per window" holds exactly,
not approximately; memory is bounded by the limit itself.
"""

import time
from collections import deque

from .base import Decision


class LocalRateLimiter:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._windows: dict[str, tuple[deque, list[int]]] = {}   # key -> (entries, [units in window])
        self._holders: dict[str, int] = {}

    async def hit(self, key: str, limit: int, window: float, units: int = 1) -> Decision:
        now = self._clock()
        entries, total = self._windows.setdefault(key, (deque(), [0]))
        while entries and entries[0][0] <= now - window:
            total[0] -= entries.popleft()[1]
        if total[0] + units > limit:
            wait = self._wait(entries, total[0], units, limit, window, now)
            return Decision(False, limit, max(limit - total[0], 0), wait)
        entries.append((now, units))
        total[0] += units
        return Decision(True, limit, limit - total[0])

    async def refund(self, key: str, units: int) -> None:
        entries, total = self._windows.get(key, (None, None))
        while entries and units > 0:  # take back from the newest entries
            at, counted = entries.pop()
            back = min(counted, units)
            units -= back
            total[0] -= back
            if counted > back:
                entries.append((at, counted - back))

    async def acquire(self, key: str, limit: int) -> Decision:
        held = self._holders.get(key, 0)
        if held >= limit:
            return Decision(False, limit, 0, retry_after=1.0)
        self._holders[key] = held + 1
        return Decision(True, limit, limit - held - 1)

    async def release(self, key: str) -> None:
        held = self._holders.get(key, 0) - 1
        if held > 0:
            self._holders[key] = held
        else:
            self._holders.pop(key, None)

    @staticmethod
    def _wait(entries: deque, used: int, units: int, limit: int, window: float, now: float) -> float:
        """Seconds until enough of the oldest entries leave the window for `units` to fit."""
        if units > limit:
            return window  # never fits; say the window, not forever
        freed = 0
        for at, counted in entries:
            freed += counted
            if used - freed + units <= limit:
                return max(at + window - now, 0.001)
        return window
