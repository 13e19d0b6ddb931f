"""In-process rate limiter (the embedded default): exact sliding windows and concurrency gates.

A window keeps every (time, units) entry still inside it, so "at most N per window" holds exactly,
not approximately; it holds one entry per request counted in the last `seconds`. Nothing here awaits, so each call is
atomic on the event loop: `admit` checks every limit and counts all of them or none.
"""

import time
from collections import deque
from collections.abc import Callable, Sequence

from alltoken.limits.base import Decision, Gate, Verdict, Window


class _Window:
    __slots__ = ("seconds", "entries", "used", "named")

    def __init__(self, seconds: float):
        self.seconds = seconds
        # (at, units, name or None), oldest first. Tuples of plain values are not tracked by the
        # garbage collector, so a busy window costs no collection time however many it holds.
        self.entries: deque[tuple[float, int, str | None]] = deque()
        self.used = 0
        self.named: dict[str, int] = {}         # a named entry's units now (after `adjust`)

    def prune(self, now: float) -> None:
        entries = self.entries
        while entries and entries[0][0] <= now - self.seconds:
            self.used -= self._units(entries.popleft(), forget=True)

    def fits(self, ask: Window, now: float) -> bool:
        self.prune(now)
        return self.used + ask.units <= ask.limit

    def decision(self, ask: Window, fitted: bool, now: float) -> Decision:
        """The window as it is now (with the request counted, if it was admitted)."""
        wait = 0.0 if fitted else self._wait(ask, now)
        return Decision(fitted, ask.limit, max(ask.limit - self.used, 0), wait, self._reset(now))

    def count(self, ask: Window, now: float) -> None:
        if ask.units:
            self.entries.append((now, ask.units, ask.entry))
            self.used += ask.units
            if ask.entry is not None:
                self.named[ask.entry] = ask.units

    def adjust(self, name: str, units: int) -> None:
        counted = self.named.get(name)
        if counted is not None:
            change = max(units, -counted)
            self.named[name] = counted + change
            self.used += change

    def _units(self, entry: tuple[float, int, str | None], forget: bool = False) -> int:
        _, units, name = entry
        if name is None:
            return units
        return self.named.pop(name) if forget else self.named[name]

    def _wait(self, ask: Window, now: float) -> float:
        """Seconds until enough of the oldest entries leave the window for the request to fit."""
        if ask.units > ask.limit:
            return self.seconds  # never fits; say the window, not forever
        freed = 0
        for entry in self.entries:
            freed += self._units(entry)
            if self.used - freed + ask.units <= ask.limit:
                return max(entry[0] + self.seconds - now, 0.001)
        return self.seconds

    def _reset(self, now: float) -> float:
        return self.entries[-1][0] + self.seconds - now if self.entries else 0.0


class LocalRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._holders: dict[str, int] = {}

    async def admit(self, windows: Sequence[Window], gates: Sequence[Gate]) -> Verdict:
        now = self._clock()
        found = [self._windows.get(ask.key) or self._windows.setdefault(ask.key, _Window(ask.seconds))
                 for ask in windows]
        fitted = [window.fits(ask, now) for window, ask in zip(found, windows)]
        free = [self._holders.get(gate.key, 0) < gate.limit for gate in gates]
        allowed = all(fitted) and all(free)
        if allowed:
            for window, ask in zip(found, windows):
                window.count(ask, now)
            for gate in gates:
                self._holders[gate.key] = self._holders.get(gate.key, 0) + 1
        decisions = tuple(window.decision(ask, fit, now) for window, ask, fit in zip(found, windows, fitted))
        return Verdict(allowed, decisions, tuple(self._slot(gate, slot) for gate, slot in zip(gates, free)))

    async def adjust(self, key: str, entry: str, units: int) -> None:
        """An entry that already left its window (the request outlasted it) has nothing to correct."""
        window = self._windows.get(key)
        if window is not None:
            window.adjust(entry, units)

    async def release(self, key: str) -> None:
        held = self._holders.get(key, 0) - 1
        if held > 0:
            self._holders[key] = held
        else:
            self._holders.pop(key, None)

    def sweep(self) -> None:
        """Forget windows that have emptied (keys and accounts no longer sending), to bound memory."""
        now = self._clock()
        for key, window in list(self._windows.items()):
            window.prune(now)
            if not window.entries:
                del self._windows[key]

    def _slot(self, gate: Gate, free: bool) -> Decision:
        """The gate as it is now; a refusal cannot know when a slot frees, so it says a second."""
        remaining = max(gate.limit - self._holders.get(gate.key, 0), 0)
        return Decision(free, gate.limit, remaining, 0.0 if free else 1.0)
