"""Trying a request's candidate routes in order until one answers, before any byte reached the client.

A retryable failure (connect error, timeout, 408/429/5xx, overloaded) moves on to the next route at
once; the last route is retried after a backoff that honours Retry-After (or given up on when the
provider asks for a longer wait than we allow). A client error (400, ...) is returned as it is.
Every attempt, and every route skipped, is recorded for the generation record.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from alltoken.errors import UpstreamError
from alltoken.providers.failures import Failure, upstream_failure
from alltoken.routing.router import Candidate, route_key
from alltoken.runtime.exchange import Attempt, Exchange
from alltoken.runtime.gateway import Gateway

T = TypeVar("T")


async def first_success(gateway: Gateway, exchange: Exchange, attempt: Callable[[Candidate], Awaitable[T]],
                        timeout: float, output_tokens: Callable[[T], int] | None = None,
                        streaming: bool = False) -> T:
    """The first candidate's answer that succeeds; exchange.model/route name the one that served.

    `output_tokens(result)` feeds the route's throughput statistics; for a stream the time to the
    first chunk is its time to first token (its throughput is recorded when it ends)."""
    settings, health = gateway.settings, gateway.health
    last_error: UpstreamError | None = None
    candidates = exchange.admission.candidates
    for position, candidate in enumerate(candidates):
        key = route_key(candidate.route)
        if not await health.admit(key):
            exchange.attempts.append(Attempt(key, "skipped", reason="breaker_open"))
            continue
        exchange.model, exchange.route = candidate.model, candidate.route
        is_last = position == len(candidates) - 1
        for retry in range(settings.route_retries + 1 if is_last else 1):
            started = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    result = await attempt(candidate)
            except (UpstreamError, asyncio.TimeoutError) as exc:
                last_error = _as_upstream_error(exc, candidate)
            except BaseException:
                health.release_probe(key)  # cancelled or crashed: the route was not judged
                raise
            else:
                latency = _ms(started)
                health.record(key, True, latency, ttft_ms=latency if streaming else None,
                              output_tokens=output_tokens(result) if output_tokens else 0)
                exchange.attempts.append(Attempt(key, "ok", latency, reason=_why(position, retry)))
                return result
            exchange.attempts.append(Attempt(key, "error", _ms(started), last_error.code, _why(position, retry)))
            if not route_fault(last_error):  # the caller's mistake, not the route's: its health is untouched
                health.release_probe(key)
                raise last_error
            health.record(key, False, _ms(started), error=last_error.code)
            wait = _backoff(last_error, retry, settings.max_retry_wait_seconds)
            if not is_last or not last_error.retryable or wait is None or retry == settings.route_retries:
                break
            await asyncio.sleep(wait)
    raise last_error or UpstreamError(503, "no route is available for this model right now: every route's circuit "
                                           "breaker is open; try again shortly", code="no_route_available")


def route_fault(error: UpstreamError) -> bool:
    """A failure of the route (fall back, count it against the breaker), not of the request.
    Our credentials or quota at one provider are its fault too: another route may well work."""
    return error.retryable or error.status >= 500 or error.status == 429


def _as_upstream_error(exc: BaseException, candidate: Candidate) -> UpstreamError:
    if isinstance(exc, UpstreamError):
        return exc
    provider = candidate.route.provider.id
    return upstream_failure(Failure.TIMEOUT, provider, message=f"provider {provider} did not answer in time")


def _backoff(error: UpstreamError, retry: int, max_wait: float) -> float | None:
    """Retry-After when the provider gave one (None if it asks for longer than we wait), else exponential."""
    asked: float | None = error.retry_after
    if asked is not None:
        return asked if asked <= max_wait else None
    return min(0.25 * 2.0**retry, max_wait)


def _why(position: int, retry: int) -> str:
    if retry:
        return f"retry {retry}"
    return "first choice" if position == 0 else "fallback"


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
