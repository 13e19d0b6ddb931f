"""Streaming completions: relay the provider's chunks, then always the usage with its cost.

The first chunk is awaited before the response starts, so an upstream failure at the start is
a proper HTTP error (and leaves the router free to try elsewhere). After the first byte, a failure
(the upstream's, or a crash of our own code on what it sent) ends the stream with an error event,
and the request costs nothing. A client that goes away is billed for the usage the provider
reported, or else an estimate from the text relayed: `RelayResponse` closes the relay however the
response ends, so that happens when the client leaves, not whenever the relay is collected.

What goes on the wire is the `Wire`'s business: OpenAI chunks here, Anthropic events in
http/v1/messages_stream.py.
"""

import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, TypeVar

from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from alltoken.errors import UpstreamError
from alltoken.http.errors import error_response, stream_error
from alltoken.http.plumbing import log_crash
from alltoken.pricing import Usage
from alltoken.providers.base import ChatCall
from alltoken.providers.openai_request import rough_tokens
from alltoken.providers.sse import DONE, encode_data
from alltoken.routing.router import Candidate, route_key
from alltoken.runtime import lifecycle
from alltoken.runtime.accounting import Outcome, with_cost
from alltoken.runtime.exchange import Body, Exchange
from alltoken.runtime.gateway import Gateway

T = TypeVar("T")

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}

Chunk = dict[str, Any]


class Wire(Protocol):
    endpoint: str

    def chunk(self, chunk: Chunk) -> bytes:
        """Bytes for one canonical chunk (ids and model already rewritten)."""

    def error(self, exc: UpstreamError) -> bytes:
        """The closing bytes after a mid-stream failure."""

    def finish(self, usage: dict[str, Any], finish_reason: str | None) -> bytes:
        """The closing bytes: usage (with cost) and the end marker."""

    def http_error(self, exc: UpstreamError, headers: dict[str, str]) -> Response:
        """A failure before the first byte, as a plain HTTP error."""


class OpenAIWire:
    endpoint = "chat"

    def __init__(self, request_id: str, public_model: str):
        self._request_id = request_id
        self._public_model = public_model

    def chunk(self, chunk: Chunk) -> bytes:
        return encode_data(chunk)

    def error(self, exc: UpstreamError) -> bytes:
        return encode_data({"error": stream_error(exc)}) + DONE

    def finish(self, usage: dict[str, Any], finish_reason: str | None) -> bytes:
        return encode_data({"id": self._request_id, "object": "chat.completion.chunk", "created": int(time.time()),
                            "model": self._public_model, "choices": [], "usage": usage}) + DONE

    def http_error(self, exc: UpstreamError, headers: dict[str, str]) -> Response:
        return error_response(exc, headers)


WireFor = Callable[[str], Wire]     # the wire format for a public model id


async def relay_stream(gateway: Gateway, exchange: Exchange, upstream_body: Body, body: Body,
                       wire_for: WireFor | None = None) -> Response:
    """Try the candidates until one sends its first chunk, then relay that one's stream.
    `wire_for(public_model_id)` makes the wire format (OpenAI chunks unless given)."""
    rid = exchange.request_id
    make_wire = wire_for or (lambda public_model: OpenAIWire(rid, public_model))

    def first_chunk(candidate: Candidate) -> Awaitable[tuple[AsyncIterator[Chunk], Chunk | None]]:
        call = ChatCall({**upstream_body, "model": candidate.route.upstream_model}, rid)
        return with_first(candidate.route.provider.chat_stream(call))

    try:
        chunks, first = await lifecycle.open_stream(gateway, exchange, first_chunk)
    except UpstreamError as exc:
        return make_wire(exchange.model.id).http_error(exc, exchange.served_headers())
    relay = _Relay(gateway, exchange, chunks, first, body, make_wire(exchange.model.id))
    return RelayResponse(relay.events(), exchange.served_headers())


class RelayResponse(StreamingResponse):
    """A stream whose relay is closed when the response ends, however it ends: a client that left
    while a chunk was being sent leaves the relay suspended at a `yield`, which only closing it
    resumes (to settle the request)."""

    def __init__(self, relay: AsyncGenerator[bytes, None], headers: dict[str, str]):
        super().__init__(relay, media_type="text/event-stream", headers={**headers, **SSE_HEADERS})
        self._relay = relay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._relay.aclose()


def stream_crashed(exc: Exception, where: str) -> UpstreamError:
    """What the client is told when our own code fails part way through a stream (logged without content)."""
    log_crash(exc, where)
    return UpstreamError(500, "internal error part way through the stream; the request was not billed",
                         type="server_error", code="internal_error")


async def with_first(items: AsyncIterator[T]) -> tuple[AsyncIterator[T], T | None]:
    """The stream and its first item (None if it is empty); closed if getting that fails."""
    try:
        return items, await anext(items)
    except StopAsyncIteration:
        return items, None
    except BaseException:
        await close(items)
        raise


async def close(items: AsyncIterator[Any]) -> None:
    """Close a provider's stream (each is an async generator; a plain iterator holds nothing to close)."""
    if isinstance(items, AsyncGenerator):
        await items.aclose()


class _Relay:
    def __init__(self, gateway: Gateway, exchange: Exchange, chunks: AsyncIterator[Chunk], first: Chunk | None,
                 body: Body, wire: Wire):
        self._gateway = gateway
        self._exchange = exchange
        self._chunks = chunks
        self._first = first
        self._wire = wire
        self._public_model = exchange.model.id
        self._client_wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self._usage_body: dict[str, Any] | None = None
        self._finish_reason: str | None = None
        self._ttft_ms: int | None = None
        self._chars = 0
        self._settled = False

    async def events(self) -> AsyncGenerator[bytes, None]:
        completed = False
        try:
            chunk = self._first
            while chunk is not None:
                if self._take(chunk):
                    yield self._wire.chunk(chunk)
                chunk = await anext(self._chunks, None)
            completed = True
        except UpstreamError as exc:
            self._settled = True
            await lifecycle.failed_mid_stream(self._gateway, self._exchange, exc, self._ttft_ms)
            yield self._wire.error(exc)
            return
        except Exception as exc:
            await self._settle(Outcome("error", 500, error_code="internal_error", ttft_ms=self._ttft_ms))
            yield self._wire.error(stream_crashed(exc, self._wire.endpoint))
            return
        finally:
            if not completed and not self._settled:  # the client went away mid-stream
                await self._settle(Outcome("cancelled", 499, self._estimated_usage(),
                                           error_code="client_disconnected", ttft_ms=self._ttft_ms))
            await close(self._chunks)
        usage = self._estimated_usage()
        cost = await self._settle(Outcome("ok", 200, usage, finish_reason=self._finish_reason,
                                          ttft_ms=self._ttft_ms))
        self._gateway.health.record_throughput(route_key(self._exchange.route), usage.completion_tokens,
                                               self._exchange.elapsed_ms())
        yield self._wire.finish(with_cost(self._usage_body, usage, cost), self._finish_reason)

    def _take(self, chunk: Chunk) -> bool:
        """Track what billing needs; rewrite ids; True if the chunk goes to the client now."""
        usage = chunk.get("usage")
        choices = chunk.get("choices") or []
        if usage:
            self._usage_body = usage
            if not choices:
                return False  # sent at the end, with cost
        elif "usage" in chunk and not self._client_wants_usage:
            del chunk["usage"]
        for choice in choices:
            produced = _produced_chars(choice.get("delta") or {})
            if produced:
                self._chars += produced
                if self._ttft_ms is None:
                    self._ttft_ms = self._exchange.elapsed_ms()
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        chunk["id"] = self._exchange.request_id
        chunk["model"] = self._public_model
        return True

    async def _settle(self, outcome: Outcome) -> int:
        self._settled = True
        return await lifecycle.settle(self._gateway, self._exchange, outcome)

    def _estimated_usage(self) -> Usage:
        """Real usage if the provider sent it; otherwise an estimate of what was produced
        (a client that left, or an upstream that does not report usage on streams)."""
        if self._usage_body:
            return Usage.from_openai(self._usage_body)
        prompt_bound = self._exchange.admission.prompt_bound
        return Usage(prompt_tokens=rough_tokens(prompt_bound), completion_tokens=rough_tokens(self._chars))


def _produced_chars(delta: dict[str, Any]) -> int:
    """Characters the model produced in one delta: text, reasoning and tool-call arguments."""
    count = len(delta.get("content") or "") + len(delta.get("reasoning_content") or "")
    for call in delta.get("tool_calls") or ():
        count += len((call.get("function") or {}).get("arguments") or "")
    return count
