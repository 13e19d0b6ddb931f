"""Streamed image requests (`stream: true`): relay the provider's partial images as they come,
then the completed image, whose `usage` carries the request's cost.

As for chat streams, the first event is awaited before the response starts, so a failure at the
start is a proper HTTP error and the router may try elsewhere; a failure after it ends the stream
with an error event, and the request costs nothing. The completed event is held back until the
stream ends, to be sent with its cost. A client that leaves before the image is complete is
charged the usage the provider reported, or else the request's reservation bounds: the provider
was asked for the whole image and bills the work it started.
"""

import time
from collections.abc import AsyncIterator, Callable

from starlette.responses import Response

from alltoken.errors import UpstreamError
from alltoken.http.errors import error_response, stream_error
from alltoken.http.plumbing import served_headers
from alltoken.http.v1.streaming import SSE_HEADERS, RelayResponse, stream_crashed, with_first
from alltoken.money import units_to_usd_number
from alltoken.pricing import Usage
from alltoken.providers.image_base import ImageCall, images_usage
from alltoken.providers.sse import encode_data
from alltoken.routing.router import Candidate, route_key
from alltoken.runtime.accounting import Outcome, finish
from alltoken.runtime.attempts import first_success


async def open_image_stream(call_for: Callable[[Candidate], ImageCall], bounds: Usage, **context) -> Response:
    """`call_for(candidate)` is the provider call; `bounds` the usage to charge a client that leaves early."""
    state, admission, rid = context["state"], context["admission"], context["request_id"]

    def first_event(candidate):
        return with_first(candidate.route.provider.images_stream(call_for(candidate)))

    try:
        events, first = await first_success(state, admission, first_event, state.settings.first_byte_timeout_seconds,
                                            streaming=True)
    except UpstreamError as exc:
        await finish(outcome=Outcome("error", exc.status, error_code=exc.code), **context)
        return error_response(exc, served_headers(rid, admission.route))
    relay = _ImageRelay(events, first, bounds, context)
    return RelayResponse(relay.events(), media_type="text/event-stream",
                         headers={**served_headers(rid, admission.route), **SSE_HEADERS})


class _ImageRelay:
    def __init__(self, events: AsyncIterator[dict], first: dict | None, bounds: Usage, context: dict):
        self._events = events
        self._first = first
        self._bounds = bounds
        self._context = context
        self._completed: dict | None = None
        self._settled = False
        self._ttft_ms: int | None = None

    async def events(self) -> AsyncIterator[bytes]:
        ended = False
        try:
            event = self._first
            while event is not None:
                if self._ttft_ms is None:
                    self._ttft_ms = self._elapsed_ms()
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
            yield _error_event(stream_crashed(exc, self._context["endpoint"]))
            return
        finally:
            if not ended and not self._settled:  # the client went away mid-stream
                await self._settle(Outcome("cancelled", 499, self._usage() or self._bounds,
                                           error_code="client_disconnected", ttft_ms=self._ttft_ms))
            await self._events.aclose()
        if self._completed is None:
            yield await self._failed(UpstreamError(502, "the provider ended the stream without the completed image",
                                                   code="upstream_malformed"))
            return
        cost = await self._settle(Outcome("ok", 200, self._usage(), ttft_ms=self._ttft_ms))
        usage = self._completed.get("usage") if isinstance(self._completed.get("usage"), dict) else {}
        yield encode_data({**self._completed, "usage": {**usage, "cost": units_to_usd_number(cost)}})

    def _usage(self) -> Usage | None:
        if self._completed is None:
            return None
        size = self._completed.get("size")
        return images_usage({"usage": self._completed.get("usage"), "data": [self._completed]},
                            size if isinstance(size, str) else None)

    async def _failed(self, exc: UpstreamError) -> bytes:
        await self._settle(Outcome("error", exc.status, error_code=exc.code, ttft_ms=self._ttft_ms))
        route = self._context["admission"].route
        self._context["state"].health.record(route_key(route), False, self._elapsed_ms(), error=exc.code)
        return _error_event(exc)

    async def _settle(self, outcome: Outcome) -> int:
        self._settled = True
        return await finish(outcome=outcome, **self._context)

    def _elapsed_ms(self) -> int:
        return int((time.perf_counter() - self._context["started"]) * 1000)


def _error_event(exc: UpstreamError) -> bytes:
    return encode_data({"type": "error", "error": stream_error(exc)})
