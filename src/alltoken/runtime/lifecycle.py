"""The paid-request lifecycle after admission, written once for every /v1 endpoint that spends credit:
try the candidate routes (runtime/attempts.py), then settle or release the hold and record the usage
(runtime/accounting.py). An endpoint is a recipe around it: validate, build the upstream request,
admit (runtime/admission.py), `answer` or `open_stream`, render.

A failure of every route is settled (at no cost) and recorded before its UpstreamError reaches the
endpoint, which renders it in its own shape. A stream's relay settles once when it ends (`settle`);
whatever is left unsettled, however the request ended, the settle-on-exit guard releases
(runtime/settlement.py).
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from alltoken.errors import UpstreamError
from alltoken.routing.router import Candidate, route_key
from alltoken.runtime.accounting import Outcome, finish
from alltoken.runtime.attempts import first_success
from alltoken.runtime.exchange import Exchange
from alltoken.runtime.gateway import Gateway

T = TypeVar("T")


async def answer(gateway: Gateway, exchange: Exchange, attempt: Callable[[Candidate], Awaitable[T]],
                 outcome: Callable[[T], Outcome], output_tokens: Callable[[T], int] | None = None) -> tuple[T, int]:
    """A plain (not streamed) answer from the first route that gives one, settled and recorded as
    `outcome(answer)` says, with its charge."""
    try:
        result = await first_success(gateway, exchange, attempt, gateway.settings.upstream_timeout_seconds,
                                     output_tokens=output_tokens)
    except UpstreamError as exc:
        await settle(gateway, exchange, failed(exc))
        raise
    return result, await settle(gateway, exchange, outcome(result))


async def open_stream(gateway: Gateway, exchange: Exchange, first: Callable[[Candidate], Awaitable[T]]) -> T:
    """The stream of the first route whose first item arrives in time (`first(candidate)` opens it and
    awaits that item); its relay settles the request when the stream ends."""
    try:
        return await first_success(gateway, exchange, first, gateway.settings.first_byte_timeout_seconds,
                                   streaming=True)
    except UpstreamError as exc:
        await settle(gateway, exchange, failed(exc))
        raise


async def settle(gateway: Gateway, exchange: Exchange, outcome: Outcome) -> int:
    """Settle or release the hold and record the usage, exactly once; the charge (0 when settled already)."""
    return await finish(gateway, exchange, outcome)


async def failed_mid_stream(gateway: Gateway, exchange: Exchange, exc: UpstreamError, ttft_ms: int | None) -> None:
    """The upstream failed after the first byte: the request costs nothing, and the route's health hears of it."""
    await settle(gateway, exchange, Outcome("error", exc.status, error_code=exc.code, ttft_ms=ttft_ms))
    gateway.health.record(route_key(exchange.route), False, exchange.elapsed_ms(), error=exc.code)


def failed(exc: UpstreamError) -> Outcome:
    return Outcome("error", exc.status, error_code=exc.code)
