"""Per-route health: rolling-window statistics and a circuit breaker.

A route is one provider serving one upstream model ("provider/upstream_model"). Every attempt
on it is recorded; the breaker opens after `consecutive_failures` in a row or a failure rate over
`failure_rate` with at least `min_requests` in the window, skips the route while open, lets one
probe through after `cooldown_seconds` (half-open), and closes when the probe succeeds.
"""

import time
from collections import deque
from dataclasses import dataclass, field

WINDOW_SECONDS = 300.0
MAX_SAMPLES = 2000


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    consecutive_failures: int = 5
    failure_rate: float = 0.5
    min_requests: int = 20
    rate_window_seconds: float = 60.0
    cooldown_seconds: float = 30.0


@dataclass(slots=True)
class Sample:
    at: float
    ok: bool
    latency_ms: int
    ttft_ms: int | None
    error: str | None


@dataclass
class RouteHealth:
    key: str
    samples: deque = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    throughput: deque = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))   # (at, output tokens/s)
    state: str = "closed"               # closed | open | half_open
    consecutive_failures: int = 0
    opened_at: float = 0.0
    probe_in_flight: bool = False
    last_error: str | None = None
    total_ok: int = 0
    total_failed: int = 0


class HealthBook:
    def __init__(self, settings: BreakerSettings = BreakerSettings(), clock=time.monotonic):
        self._settings = settings
        self._clock = clock
        self._routes: dict[str, RouteHealth] = {}

    def route(self, key: str) -> RouteHealth:
        health = self._routes.get(key)
        if health is None:
            health = self._routes[key] = RouteHealth(key)
        return health

    async def start(self) -> None:
        """Nothing to start here; a shared book (shared_breakers.py) subscribes to its changes."""

    async def close(self) -> None:
        """Nothing to stop here."""

    async def admit(self, key: str) -> bool:
        """`allows`, for the request path: a shared book may ask Redis for the half-open probe."""
        return self.allows(key)

    def allows(self, key: str) -> bool:
        """May a request go to this route now? An open breaker says no until its cooldown passed,
        then lets exactly one probe through."""
        health = self.route(key)
        if health.state == "closed":
            return True
        if health.state == "open" and self._clock() - health.opened_at >= self._settings.cooldown_seconds:
            health.state = "half_open"
        if health.state == "half_open" and not health.probe_in_flight:
            health.probe_in_flight = True
            return True
        return False

    def record(self, key: str, ok: bool, latency_ms: int, ttft_ms: int | None = None,
               output_tokens: int = 0, error: str | None = None) -> None:
        health = self.route(key)
        seconds = latency_ms / 1000
        speed = output_tokens / seconds if ok and output_tokens and seconds > 0 else None
        health.samples.append(Sample(self._clock(), ok, latency_ms, ttft_ms, error))
        if speed is not None:
            health.throughput.append((self._clock(), speed))
        health.probe_in_flight = False
        if ok:
            health.total_ok += 1
            health.consecutive_failures = 0
            health.state = "closed"
            return
        health.total_failed += 1
        health.consecutive_failures += 1
        health.last_error = error
        if health.state == "half_open" or self._should_open(health):
            health.state = "open"
            health.opened_at = self._clock()

    def record_throughput(self, key: str, output_tokens: int, duration_ms: int) -> None:
        """A finished stream's output rate, added to its route's statistics."""
        if output_tokens and duration_ms > 0:
            self.route(key).throughput.append((self._clock(), output_tokens / (duration_ms / 1000)))

    def release_probe(self, key: str) -> None:
        """A probe that never reached the route (the request was refused before): let another one try."""
        self.route(key).probe_in_flight = False

    def _should_open(self, health: RouteHealth) -> bool:
        settings = self._settings
        if health.consecutive_failures >= settings.consecutive_failures:
            return True
        since = self._clock() - settings.rate_window_seconds
        recent = [s for s in health.samples if s.at >= since]
        failures = sum(1 for s in recent if not s.ok)
        return len(recent) >= settings.min_requests and failures / len(recent) > settings.failure_rate

    def snapshot(self, key: str) -> dict:
        """Rolling-window statistics for /status, the management API and metrics."""
        health = self.route(key)
        since = self._clock() - WINDOW_SECONDS
        recent = [s for s in health.samples if s.at >= since]
        ok = [s for s in recent if s.ok]
        return {
            "route": key, "breaker": health.state, "requests": len(recent),
            "success_rate": round(len(ok) / len(recent), 4) if recent else None,
            "latency_ms_p50": _percentile([s.latency_ms for s in ok], 50),
            "latency_ms_p90": _percentile([s.latency_ms for s in ok], 90),
            "ttft_ms_p50": _percentile([s.ttft_ms for s in ok if s.ttft_ms is not None], 50),
            "output_tokens_per_s_p50": _percentile([speed for at, speed in health.throughput if at >= since], 50),
            "last_error": health.last_error,
        }

    def keys(self) -> list[str]:
        return list(self._routes)


def _percentile(values: list[float], pct: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
