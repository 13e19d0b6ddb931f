"""/v1/messages to an Anthropic route: the caller's request goes upstream untranslated, and
Anthropic's answer or event stream comes back as it was sent, plus `usage.cost`.

Billing is the same as everywhere: the hold was taken at admission; usage comes from
message_start and the cumulative message_delta; a failure costs nothing.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from typing import Any

from starlette.responses import Response

from alltoken.errors import UpstreamError
from alltoken.http.errors import anthropic_body, anthropic_response
from alltoken.http.plumbing import json_response
from alltoken.http.v1.messages_stream import event
from alltoken.http.v1.streaming import RelayResponse, close, stream_crashed
from alltoken.money import units_to_usd_number
from alltoken.pricing import Usage
from alltoken.providers.anthropic.client import AnthropicProvider, native_usage
from alltoken.providers.openai_request import rough_tokens, utf8_token_bound
from alltoken.routing.router import Candidate
from alltoken.runtime import lifecycle
from alltoken.runtime.accounting import Outcome
from alltoken.runtime.estimate import PER_MESSAGE_OVERHEAD
from alltoken.runtime.exchange import Body, Exchange
from alltoken.runtime.gateway import Gateway
from alltoken.runtime.media_estimate import anthropic_source_data, document_tokens, image_tokens

Event = tuple[str, dict[str, Any]]      # Anthropic's event name and data


def native_prompt_bound(body: dict) -> int:
    """Upper bound on input tokens of an Anthropic request: UTF-8 bytes of its text, images and
    documents by runtime/media_estimate.py, a few tokens per message."""
    parts = [body.get("system"), body.get("tools")] + [m.get("content") for m in body.get("messages") or ()]
    return sum(_bound(part) for part in parts) + PER_MESSAGE_OVERHEAD * len(body.get("messages") or ())


def _bound(value) -> int:
    if isinstance(value, str):
        return utf8_token_bound(value)
    if isinstance(value, list):
        return sum(_bound(item) for item in value)
    if isinstance(value, dict):
        if value.get("type") == "image":
            return image_tokens(anthropic_source_data(value))
        if value.get("type") == "document":
            return _document_bound(value)
        return sum(_bound(item) for item in value.values())
    return 0


def _document_bound(block: dict) -> int:
    """A PDF by its pages; a text or content source by its text; a url or file by the allowance."""
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") in ("text", "content"):
        return _bound(source.get("data") if source["type"] == "text" else source.get("content"))
    return document_tokens(anthropic_source_data(block)) + _bound(block.get("context"))


async def native_message(gateway: Gateway, exchange: Exchange, body: Body, beta: str | None) -> Response:
    def call(candidate: Candidate) -> Awaitable[tuple[dict[str, Any], Usage]]:
        return anthropic(candidate).native_message({**body, "model": candidate.route.upstream_model}, beta)

    def outcome(answer: tuple[dict[str, Any], Usage]) -> Outcome:
        data, usage = answer
        return Outcome("ok", 200, usage, finish_reason=data.get("stop_reason"))

    try:
        (data, _), cost = await lifecycle.answer(gateway, exchange, call, outcome,
                                                 output_tokens=lambda answer: answer[1].completion_tokens)
    except UpstreamError as exc:
        return anthropic_response(exc, exchange.served_headers(anthropic=True))
    data["model"] = exchange.model.id
    data["usage"] = {**(data.get("usage") or {}), "cost": units_to_usd_number(cost)}
    return json_response(data, headers=exchange.served_headers(anthropic=True))


async def native_stream(gateway: Gateway, exchange: Exchange, body: Body, beta: str | None) -> Response:
    async def first_event(candidate: Candidate) -> tuple[AsyncIterator[Event], Event]:
        events = anthropic(candidate).native_stream({**body, "model": candidate.route.upstream_model}, beta)
        try:
            return events, await anext(events)
        except BaseException:
            await close(events)
            raise

    try:
        events, first = await lifecycle.open_stream(gateway, exchange, first_event)
    except UpstreamError as exc:
        return anthropic_response(exc, exchange.served_headers(anthropic=True))
    relay = _NativeRelay(gateway, exchange, events, first)
    return RelayResponse(relay.events(), exchange.served_headers(anthropic=True))


def anthropic(candidate: Candidate) -> AnthropicProvider:
    provider = candidate.route.provider
    assert isinstance(provider, AnthropicProvider)   # the pass-through's candidates are Anthropic routes
    return provider


_FINAL = ("message_delta", "message_stop")   # the cumulative usage is in message_delta; message_stop ends


class _NativeRelay:
    def __init__(self, gateway: Gateway, exchange: Exchange, events: AsyncIterator[Event], first: Event):
        self._gateway = gateway
        self._exchange = exchange
        self._events = events
        self._first = first
        self._usage: dict[str, Any] = {}
        self._stop_reason: str | None = None
        self._ttft_ms: int | None = None
        self._chars = 0
        self._settled = False

    async def events(self) -> AsyncGenerator[bytes, None]:
        item: Event | None = self._first
        try:
            while item is not None:
                name, data = item
                kind = self._take(data)
                if kind in _FINAL and not self._settled:   # the usage is final: settle, and say what it cost
                    cost = await self._settle(Outcome("ok", 200, native_usage(self._usage),
                                                      finish_reason=self._stop_reason, ttft_ms=self._ttft_ms))
                    if kind == "message_delta":
                        data["usage"] = {**(data.get("usage") or {}), "cost": units_to_usd_number(cost)}
                yield event(name, data)
                item = await anext(self._events, None)
        except UpstreamError as exc:
            await self._settle(Outcome("error", exc.status, error_code=exc.code, ttft_ms=self._ttft_ms))
            yield event("error", anthropic_body(exc))
        except Exception as exc:
            await self._settle(Outcome("error", 500, error_code="internal_error", ttft_ms=self._ttft_ms))
            yield event("error", anthropic_body(stream_crashed(exc, "messages")))
        finally:
            if not self._settled:  # the client went away before message_stop
                await self._settle(Outcome("cancelled", 499, self._usage_so_far(), error_code="client_disconnected",
                                           ttft_ms=self._ttft_ms))
            await close(self._events)

    def _take(self, data: dict[str, Any]) -> str | None:
        """Track what billing needs; the event's type."""
        kind = data.get("type")
        if kind == "message_start":
            message = data.get("message") or {}
            self._usage.update(message.get("usage") or {})
            message["model"] = self._exchange.model.id
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            produced = delta.get("text") or delta.get("thinking") or delta.get("partial_json") or ""
            self._chars += len(produced)
            if produced and self._ttft_ms is None:
                self._ttft_ms = self._exchange.elapsed_ms()
        elif kind == "message_delta":
            self._usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            self._stop_reason = (data.get("delta") or {}).get("stop_reason") or self._stop_reason
        return kind

    def _usage_so_far(self) -> Usage:
        usage = native_usage(self._usage)
        if usage.completion_tokens:
            return usage
        return Usage(prompt_tokens=usage.prompt_tokens, cached_tokens=usage.cached_tokens,
                     cache_write_tokens=usage.cache_write_tokens, completion_tokens=rough_tokens(self._chars))

    async def _settle(self, outcome: Outcome) -> int:
        self._settled = True
        return await lifecycle.settle(self._gateway, self._exchange, outcome)
