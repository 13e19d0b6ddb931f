"""The rate-limiter interface: one shape for the in-process backend and a shared (Redis) one.

Two kinds of limit cover requests/minute, tokens/minute and concurrent requests:
- a sliding window: at most `limit` units (requests, or tokens) in any `seconds` seconds;
- a concurrency gate: at most `limit` holders at once, each released when its request ends.

A request is checked against several limits at once (its key's, its account's, its model's), and
`admit` counts all of them or none: a request refused by one limit must not use up another's
allowance. A shared backend does the same in one atomic script. A refusal says how long until
the request would fit, for `Retry-After`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# Plain (not frozen) dataclasses: several are made for every limited request, and frozen ones are
# several times slower to make.


@dataclass(slots=True)
class Window:
    key: str
    limit: int
    seconds: float
    units: int = 1
    entry: str | None = None    # names the count, for `adjust` later (a token estimate)


@dataclass(slots=True)
class Gate:
    key: str
    limit: int


@dataclass(slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int              # left now: after this request when it was admitted, before it when refused
    retry_after: float = 0.0    # seconds until it would be allowed (0 when allowed)
    reset: float = 0.0          # seconds until the window is empty again, if nothing more comes


@dataclass(slots=True)
class Verdict:
    allowed: bool                    # every window and gate allowed it (and it was counted in all)
    windows: tuple[Decision, ...]    # one per window asked, in order
    gates: tuple[Decision, ...]      # one per gate asked, in order


class RateLimiter(Protocol):
    async def admit(self, windows: Sequence[Window], gates: Sequence[Gate]) -> Verdict:
        """Count every window's units and take a slot of every gate if all of them fit, atomically;
        count nothing if any does not."""

    async def adjust(self, key: str, entry: str, units: int) -> None:
        """Correct the units a window counted under `entry` (negative gives back: an estimate
        corrected by actual usage; positive counts what the estimate missed)."""

    async def release(self, key: str) -> None:
        """Give a gate's slot back."""

    def sweep(self) -> None:
        """Forget what no longer counts, to bound memory (a shared backend lets its keys expire)."""
