"""Anthropic Messages API (`POST {base_url}/v1/messages`) behind our OpenAI-shaped interface.

Translation lives in anthropic/translate.py; this module sends requests, reads the named-event
stream, and reads Anthropic's error bodies (`{"type": "error", "error": {"type", "message"}}`,
as Anthropic's API reference gives them) into providers/failures.py's categories.
"""

import time
from collections.abc import AsyncIterator, Mapping
from functools import lru_cache

import orjson

from alltoken.catalog.models import catalog_price
from alltoken.config import ProviderConfig
from alltoken.config.provider_types import provider_type
from alltoken.errors import UpstreamError
from alltoken.pricing import Usage
from alltoken.providers.anthropic.translate import (
    ModelTraits,
    StreamTranslator,
    TranslationError,
    openai_usage,
    reasoning_hidden,
    to_chat_completion,
    to_messages_request,
)
from alltoken.providers.base import ChatCall, ChatResult, Provider
from alltoken.providers.failures import Failure, failure_of_status, upstream_failure
from alltoken.providers.sse import read_events
from alltoken.providers.transport import Transport
from alltoken.providers.upstream import parse_json, retry_after_seconds, transport_errors

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicProvider(Provider):
    unsupported_parameters = frozenset(("seed", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
                                        "top_logprobs", "n"))

    def __init__(self, config: ProviderConfig, transport: Transport):
        super().__init__(config)
        self._transport = transport
        self._messages_url = provider_type(config).base_url(config) + "/v1/messages"
        self._headers = {"content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
        if config.api_key:
            self._headers["x-api-key"] = config.api_key

    async def chat(self, call: ChatCall) -> ChatResult:
        data = await self._post(self._messages_url, self._native_request(call.body), self._headers)
        body = to_chat_completion(data, int(time.time()), include_reasoning=not reasoning_hidden(call.body))
        return ChatResult(body, Usage.from_openai(body["usage"]))

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[dict]:
        translator = StreamTranslator(int(time.time()), include_reasoning=not reasoning_hidden(call.body))
        async for _, data in self._events(self._native_request(call.body), self._headers):
            for chunk in translator.feed(data):
                yield chunk

    # Native pass-through for /v1/messages: the caller's own Anthropic request, untranslated, so
    # cache_control, thinking blocks, documents and server tools keep their full meaning.

    async def native_message(self, body: dict, beta: str | None = None) -> tuple[dict, Usage]:
        data = await self._post(self._messages_url, body, self._native_headers(beta))
        return data, native_usage(data.get("usage"))

    def native_stream(self, body: dict, beta: str | None = None) -> AsyncIterator[tuple[str, dict]]:
        """(event name, data) as Anthropic sent them, up to and including message_stop."""
        return self._events(body, self._native_headers(beta))

    async def native_count_tokens(self, body: dict, beta: str | None = None) -> dict:
        """Anthropic's own count (free of charge there, so free here)."""
        return await self._post(self._messages_url + "/count_tokens", body, self._native_headers(beta))

    async def _post(self, url: str, request: dict, headers: dict) -> dict:
        """One non-streaming call; an error answer (HTTP or an error body) becomes a UpstreamError."""
        if url == self._messages_url:
            request = {**request, "stream": False}
        async with transport_errors(self.id):
            async with self._transport.session.post(url, data=orjson.dumps(request), headers=headers) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise anthropic_error(self.id, response.status, raw, response.headers)
        data = parse_json(self.id, raw)
        if data.get("type") == "error":
            raise stream_error(self.id, data.get("error"))
        return data

    async def _events(self, request: dict, headers: dict) -> AsyncIterator[tuple[str, dict]]:
        """A streamed call's events up to message_stop; an error event or a cut stream raises."""
        headers = {**headers, "accept": "text/event-stream"}
        async with transport_errors(self.id):
            response = await self._transport.session.post(self._messages_url, data=orjson.dumps(
                {**request, "stream": True}), headers=headers)
        try:
            if response.status >= 400:
                raise anthropic_error(self.id, response.status, await response.read(), response.headers)
            async with transport_errors(self.id):
                async for event in read_events(response.content):
                    data = parse_json(self.id, event.data.encode())
                    if data.get("type") == "error":
                        raise stream_error(self.id, data.get("error"))
                    yield event.event or str(data.get("type")), data
                    if data.get("type") == "message_stop":
                        return
            raise upstream_failure(Failure.STREAM_ERROR, self.id,
                                   message=f"provider {self.id} ended the stream before it was complete")
        finally:
            response.release()

    def _native_headers(self, beta: str | None) -> dict:
        return {**self._headers, "anthropic-beta": beta} if beta else self._headers

    def _native_request(self, body: dict) -> dict:
        try:
            return to_messages_request(body, model_traits(body["model"]))
        except TranslationError as exc:
            raise UpstreamError(400, exc.message, type="invalid_request_error", param=exc.param) from None


@lru_cache(maxsize=256)
def model_traits(upstream_model: str) -> ModelTraits:
    """From the catalog: the model's max output (the default max_tokens) and its thinking style.
    A model the catalog does not know gets the translator's defaults."""
    entry = catalog_price("anthropic", upstream_model)
    if entry is None:
        return ModelTraits()
    return ModelTraits(entry.max_output_tokens, "adaptive_thinking" in entry.capabilities)


def native_usage(usage: dict | None) -> Usage:
    """Anthropic's usage object in our inclusive convention."""
    return Usage.from_openai(openai_usage(usage))


def anthropic_error(provider_id: str, status: int, raw: bytes, headers: Mapping[str, str]) -> UpstreamError:
    """An Anthropic HTTP error as ours; an `overloaded_error` body is overload whatever its status."""
    kind, message = _error_detail(raw)
    failure = failure_of_status(status)
    if kind == "overloaded_error" and failure in (Failure.SERVER_ERROR, Failure.REFUSED):
        failure = Failure.OVERLOADED
    return upstream_failure(failure, provider_id, status=status,
                            message=message if failure is Failure.BAD_REQUEST else None,
                            code=kind if kind != "invalid_request_error" else None,
                            retry_after=retry_after_seconds(headers))


def stream_error(provider_id: str, error: object) -> UpstreamError:
    """An `error` event after HTTP 200 (typically overloaded_error, which would be a 529). Its message
    is not passed on: it may describe our account."""
    kind = error.get("type") if isinstance(error, dict) else None
    if kind == "overloaded_error":
        return upstream_failure(Failure.OVERLOADED, provider_id)
    return upstream_failure(Failure.STREAM_ERROR, provider_id,
                            message=f"provider {provider_id} failed mid-stream ({kind or 'unknown error'})")


def _error_detail(raw: bytes) -> tuple[str | None, str | None]:
    """(error.type, error.message) from `{"type": "error", "error": {"type", "message"}}`."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None, None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None, None
    kind, message = error.get("type"), error.get("message")
    return (kind if isinstance(kind, str) else None), (message if isinstance(message, str) else None)
