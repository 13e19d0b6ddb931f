"""Streaming chat completions: relay the provider's chunks, then always a usage chunk with cost.

The first chunk is awaited before the response starts, so an upstream failure at the start is
a proper HTTP error (and leaves the router free to try elsewhere). After the first byte, a failure
ends the stream with an error event, and the request costs nothing. A client that goes away is
billed for the usage the provider reported, or else an estimate from the text relayed.
"""

import time
from collections.abc import AsyncIterator

from starlette.responses import Response, StreamingResponse

from ..billing.pricing import Usage
from ..providers.base import ChatCall, ProviderError
from ..providers.sse import DONE, encode_data
from .accounting import Outcome, finish, with_cost
from .errors import provider_error_response
from .estimate import rough_tokens

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


async def open_stream(call: ChatCall, body: dict, headers: dict, **context) -> Response:
    chunks = context["admission"].route.provider.chat_stream(call)
    try:
        first = await anext(chunks)
    except ProviderError as exc:
        finish(outcome=Outcome("error", exc.status, error_code=exc.code), endpoint="chat", streamed=True, **context)
        return provider_error_response(exc, headers)
    except StopAsyncIteration:
        first = None
    relay = _Relay(chunks, first, body, context)
    return StreamingResponse(relay.events(), media_type="text/event-stream", headers={**headers, **SSE_HEADERS})


class _Relay:
    def __init__(self, chunks: AsyncIterator[dict], first: dict | None, body: dict, context: dict):
        self._chunks = chunks
        self._first = first
        self._context = context
        self._public_model = context["admission"].model.id
        self._request_id = context["request_id"]
        self._client_wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self._usage_body: dict | None = None
        self._finish_reason: str | None = None
        self._ttft_ms: int | None = None
        self._chars = 0
        self._settled = False

    async def events(self) -> AsyncIterator[bytes]:
        completed = False
        try:
            chunk = self._first
            while chunk is not None:
                if self._take(chunk):
                    yield encode_data(chunk)
                chunk = await anext(self._chunks, None)
            completed = True
        except ProviderError as exc:
            self._settle(Outcome("error", exc.status, error_code=exc.code, ttft_ms=self._ttft_ms))
            yield encode_data({"error": {"message": exc.message, "type": exc.type, "code": exc.code, "param": None}})
            yield DONE
            return
        finally:
            if not completed and not self._settled:  # the client went away mid-stream
                self._settle(Outcome("cancelled", 499, self._estimated_usage(), error_code="client_disconnected",
                                     ttft_ms=self._ttft_ms))
            await self._chunks.aclose()
        usage = Usage.from_openai(self._usage_body) if self._usage_body else self._estimated_usage()
        cost = self._settle(Outcome("ok", 200, usage, finish_reason=self._finish_reason, ttft_ms=self._ttft_ms))
        yield encode_data({"id": self._request_id, "object": "chat.completion.chunk", "created": int(time.time()),
                           "model": self._public_model, "choices": [],
                           "usage": with_cost(self._usage_body, usage, cost)})
        yield DONE

    def _take(self, chunk: dict) -> bool:
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
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                self._chars += len(content)
                if self._ttft_ms is None:
                    self._ttft_ms = int((time.perf_counter() - self._context["started"]) * 1000)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        chunk["id"] = self._request_id
        chunk["model"] = self._public_model
        return True

    def _settle(self, outcome: Outcome) -> int:
        self._settled = True
        return finish(outcome=outcome, endpoint="chat", streamed=True, **self._context)

    def _estimated_usage(self) -> Usage:
        """Real usage if the provider sent it; otherwise an estimate of what was produced
        (a client that left, or an upstream that does not report usage on streams)."""
        if self._usage_body:
            return Usage.from_openai(self._usage_body)
        prompt_bound = self._context["admission"].prompt_bound
        return Usage(prompt_tokens=rough_tokens(prompt_bound), completion_tokens=rough_tokens(self._chars))
