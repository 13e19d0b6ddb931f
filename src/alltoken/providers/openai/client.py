"""OpenAI Chat Completions, and any server that speaks it (vLLM, Ollama, LM Studio: `openai_compatible`).

Our canonical shape is this wire format, so translation is a pass-through; the work here is
asking for usage on streams, and classifying upstream errors.
"""

from collections.abc import AsyncIterator, Mapping

import aiohttp
import orjson

from alltoken.config import ProviderConfig
from alltoken.config.provider_types import provider_type
from alltoken.errors import UpstreamError
from alltoken.pricing import Usage
from alltoken.providers.base import (
    ChatCall,
    ChatResult,
    EmbeddingCall,
    EmbeddingProvider,
    EmbeddingResult,
    Provider,
)
from alltoken.providers.failures import Failure, failure_of_status, upstream_failure
from alltoken.providers.openai.images import OpenAIImages
from alltoken.providers.sse import read_events
from alltoken.providers.transport import Transport
from alltoken.providers.upstream import parse_json, retry_after_seconds, transport_errors


class OpenAIProvider(Provider, EmbeddingProvider, OpenAIImages):
    def __init__(self, config: ProviderConfig, transport: Transport):
        super().__init__(config)
        self._transport = transport
        self._base_url = provider_type(config).base_url(config)
        self._chat_url = self._base_url + "/chat/completions"
        self._embeddings_url = self._base_url + "/embeddings"
        self._auth_headers = {}
        if config.api_key:
            self._auth_headers["Authorization"] = f"Bearer {config.api_key}"
        organization = config.options.get("organization")
        if organization:
            self._auth_headers["OpenAI-Organization"] = str(organization)
        self._headers = {"Content-Type": "application/json", **self._auth_headers}

    async def chat(self, call: ChatCall) -> ChatResult:
        body = self._upstream_body(call.body, stream=False)
        async with transport_errors(self.id):
            async with self._transport.session.post(self._chat_url, data=orjson.dumps(body),
                                                    headers=self._headers) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise self._upstream_error(response.status, raw, response.headers)
        data = self._adapt_response(parse_json(self.id, raw))
        return ChatResult(data, Usage.from_openai(data.get("usage")))

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[dict]:
        body = self._upstream_body(call.body, stream=True)
        headers = {**self._headers, "Accept": "text/event-stream"}
        async with transport_errors(self.id):
            response = await self._transport.session.post(self._chat_url, data=orjson.dumps(body), headers=headers)
        try:
            if response.status >= 400:
                raise self._upstream_error(response.status, await response.read(), response.headers)
            async with transport_errors(self.id):
                async for chunk in self._adapt_stream(self._upstream_chunks(response)):
                    yield chunk
        finally:
            response.release()

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        request = orjson.dumps(self._embedding_body(call.body))
        async with transport_errors(self.id):
            async with self._transport.session.post(self._embeddings_url, data=request,
                                                    headers=self._headers) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise self._upstream_error(response.status, raw, response.headers)
        data = parse_json(self.id, raw)
        items = sorted(data.get("data") or [], key=lambda item: item.get("index", 0))
        vectors = [item.get("embedding") for item in items]
        if not all(isinstance(v, list) for v in vectors) or len(vectors) != _input_count(call.body["input"]):
            raise upstream_failure(Failure.MALFORMED, self.id, message=f"provider {self.id} sent malformed embeddings",
                                   retryable=False)
        return EmbeddingResult(vectors, Usage(prompt_tokens=Usage.from_openai(data.get("usage")).prompt_tokens))

    def _embedding_body(self, body: dict) -> dict:
        """Floats from upstream always: the gateway does base64 itself, the same way for every provider."""
        upstream = {name: body[name] for name in ("model", "input", "dimensions", "user") if name in body}
        return {**upstream, "encoding_format": "float"}

    async def _upstream_chunks(self, response: aiohttp.ClientResponse) -> AsyncIterator[dict]:
        async for event in read_events(response.content):
            if event.data.startswith("[DONE]"):
                break
            chunk = parse_json(self.id, event.data.encode())
            if "error" in chunk:
                raise mid_stream_error(self.id, chunk["error"])
            yield chunk

    # Hooks for servers that speak a dialect of this API (mistral, llama): the defaults are OpenAI's own.

    def _upstream_body(self, body: dict, *, stream: bool) -> dict:
        """The request as the upstream takes it. Streams always ask for usage, so billing is exact."""
        if not stream:
            upstream = {**body, "stream": False}
            upstream.pop("stream_options", None)
            return upstream
        options = {**(body.get("stream_options") or {}), "include_usage": True}
        return {**body, "stream": True, "stream_options": options}

    def _adapt_response(self, data: dict) -> dict:
        """A non-streaming answer in our canonical shape."""
        return data

    def _adapt_stream(self, chunks: AsyncIterator[dict]) -> AsyncIterator[dict]:
        """The upstream's chunks (already parsed, error events raised) as our canonical chunks."""
        return chunks

    # What a status means at this upstream where it differs from failures.STATUS_FAILURES.
    status_failures: Mapping[int, Failure] = {}

    def _upstream_error(self, status: int, raw: bytes, headers: Mapping[str, str]) -> UpstreamError:
        return classify_upstream_error(self.id, status, self._error_detail(raw), headers, self.status_failures)

    def _error_detail(self, raw: bytes) -> dict[str, str]:
        """message/type/code/param of an error body."""
        return _error_detail(raw)


def classify_upstream_error(provider_id: str, status: int, detail: dict[str, str], headers: Mapping[str, str],
                            overrides: Mapping[int, Failure] | None = None) -> UpstreamError:
    """An upstream HTTP error (its body read into message/type/code/param) as ours: client mistakes keep their
    message; a 429 that says the account is out of quota is not a rate limit (waiting will not help)."""
    failure = failure_of_status(status, overrides)
    if failure is Failure.RATE_LIMITED and "insufficient_quota" in (detail.get("code"), detail.get("type")):
        failure = Failure.QUOTA
    message = detail.get("message") if failure is Failure.BAD_REQUEST else None
    return upstream_failure(failure, provider_id, status=status, message=message, code=detail.get("code"),
                            param=detail.get("param"), retry_after=retry_after_seconds(headers))


def mid_stream_error(provider_id: str, error: object) -> UpstreamError:
    message = error.get("message") if isinstance(error, dict) else str(error)
    return upstream_failure(Failure.STREAM_ERROR, provider_id,
                            message=f"provider {provider_id} failed mid-stream: {message}")


def _error_detail(raw: bytes) -> dict:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    error = data.get("error", data) if isinstance(data, dict) else None
    if isinstance(error, dict):
        return {k: error.get(k) for k in ("message", "type", "code", "param") if isinstance(error.get(k), str)}
    if isinstance(error, str):
        return {"message": error}
    return {}


def _input_count(inputs) -> int:
    if isinstance(inputs, str) or (inputs and isinstance(inputs[0], int)):
        return 1
    return len(inputs)
