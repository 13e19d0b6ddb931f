"""The rate-limiter interface: one shape for the in-process backend and a shared (Redis) one.

Two kinds of limit cover requests/minute, tokens/minute and concurrent requests:
- a sliding window: at most `limit` units (requests, or tokens) in any `window` seconds;
- a concurrency gate: at most `limit` holders at once, each released when its request ends.
A refusal says how long until the request would fit, for `Retry-After`.
"""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: float = 0.0      # seconds until it would be allowed (0 when allowed)


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: float, units: int = 1) -> Decision:
        """Count `units` against the window if they fit, atomically; refuse without counting if not."""

    async def refund(self, key: str, units: int) -> None:
        """Give back units counted by `hit` (a token estimate corrected by actual usage)."""

    async def acquire(self, key: str, limit: int) -> Decision:
        """Take a concurrency slot if one is free."""

    async def release(self, key: str) -> None:
        """Give a slot back."""
