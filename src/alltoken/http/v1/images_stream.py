"""Streamed image requests (`stream: true`): relay the provider's partial images as they come,
then the completed image, whose `usage` carries the request's cost.

As for chat streams, the first event is awaited before the response starts, so a failure at the
start is a proper HTTP error and the router may try elsewhere; a failure after it ends the stream
with an error event, and the request costs nothing. The completed event is held back until the
stream ends, to be sent with its cost. A client that leaves before the image is complete is
charged the usage the provider reported, or else the request's reservation bounds: the provider
was asked for the whole image and bills the work it started.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.responses import Response

from alltoken.errors import UpstreamError
from alltoken.http.errors import error_response, stream_error
from alltoken.http.v1.streaming import RelayResponse, close, stream_crashed, with_first
from alltoken.money import units_to_usd_number
from alltoken.pricing import Usage
from alltoken.providers.image_base import ImageCall, ImageProvider, images_usage
from alltoken.providers.sse import encode_data
from alltoken.routing.router import Candidate
from alltoken.runtime import lifecycle
from alltoken.runtime.accounting import Outcome
from alltoken.runtime.exchange import Exchange
from alltoken.runtime.gateway import Gateway

ImageEvent = dict[str, Any]


async def relay_image_stream(gateway: Gateway, exchange: Exchange, call_for: Callable[[Candidate], ImageCall],
                             bounds: Usage) -> Response:
    """`call_for(candidate)` is the provider call; `bounds` the usage to charge a client that leaves early."""
    def first_event(candidate: Candidate) -> Awaitable[tuple[AsyncIterator[ImageEvent], ImageEvent | None]]:
        provider = candidate.route.provider
        assert isinstance(provider, ImageProvider)   # the candidates are routes that make images
        return with_first(provider.images_stream(call_for(candidate)))

    try:
        events, first = await lifecycle.open_stream(gateway, exchange, first_event)
    except UpstreamError as exc:
        return error_response(exc, exchange.served_headers())
    relay = _ImageRelay(gateway, exchange, events, first, bounds)
    return RelayResponse(relay.events(), exchange.served_headers())


class _ImageRelay:
    def __init__(self, gateway: Gateway, exchange: Exchange, events: AsyncIterator[ImageEvent],
                 first: ImageEvent | None, bounds: Usage):
        self._gateway = gateway
        self._exchange = exchange
        self._events = events
        self._first = first
        self._bounds = bounds
        self._completed: ImageEvent | None = None
        self._settled = False
        self._ttft_ms: int | None = None

    async def events(self) -> AsyncGenerator[bytes, None]:
        ended = False
        try:
            event = self._first
            while event is not None:
                if self._ttft_ms is None:
                    self._ttft_ms = self._exchange.elapsed_ms()
                if str(event.get("type", "")).endswith(".completed"):
                    self._completed = event
                else:
                    yield encode_data(event)
                event = await anext(self._events, None)
            ended = True
        except UpstreamError as exc:
            yield await self._failed(exc)
            return
        except Exception as exc:
            await self._settle(Outcome("error", 500, error_code="internal_error", ttft_ms=self._ttft_ms))
            yield _error_event(stream_crashed(exc, self._exchange.endpoint))
            return
        finally:
            if not ended and not self._settled:  # the client went away mid-stream
                await self._settle(Outcome("cancelled", 499, self._usage() or self._bounds,
                                           error_code="client_disconnected", ttft_ms=self._ttft_ms))
            await close(self._events)
        if self._completed is None:
            yield await self._failed(UpstreamError(502, "the provider ended the stream without the completed image",
                                                   code="upstream_malformed"))
            return
        completed = self._completed
        cost = await self._settle(Outcome("ok", 200, _usage_of(completed), ttft_ms=self._ttft_ms))
        reported = completed.get("usage")
        usage = reported if isinstance(reported, dict) else {}
        yield encode_data({**completed, "usage": {**usage, "cost": units_to_usd_number(cost)}})

    def _usage(self) -> Usage | None:
        return _usage_of(self._completed) if self._completed is not None else None

    async def _failed(self, exc: UpstreamError) -> bytes:
        self._settled = True
        await lifecycle.failed_mid_stream(self._gateway, self._exchange, exc, self._ttft_ms)
        return _error_event(exc)

    async def _settle(self, outcome: Outcome) -> int:
        self._settled = True
        return await lifecycle.settle(self._gateway, self._exchange, outcome)


def _usage_of(completed: ImageEvent) -> Usage:
    size = completed.get("size")
    return images_usage({"usage": completed.get("usage"), "data": [completed]}, size if isinstance(size, str) else None)


def _error_event(exc: UpstreamError) -> bytes:
    return encode_data({"type": "error", "error": stream_error(exc)})
