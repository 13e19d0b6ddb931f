"""Google Gemini API (generativelanguage): transport, errors, stream reading and embeddings.

Translation lives in gemini/translate.py; https image URLs are fetched here first, through
image_fetch, because Gemini takes image bytes inline.
"""

import re
from collections.abc import AsyncIterable, AsyncIterator
from urllib.parse import quote

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
from alltoken.providers.gemini.translate import (
    EMBED_BATCH_LIMIT,
    StreamTranslator,
    embedding_prompt_tokens,
    embedding_vectors,
    first_call_number,
    image_urls,
    to_batch_embed_request,
    to_gemini_request,
    to_openai_completion,
)
from alltoken.providers.image_fetch import fetch_images
from alltoken.providers.transport import Transport
from alltoken.providers.upstream import (
    all_or_first_error,
    parse_json,
    retry_after_seconds,
    text_inputs,
    transport_errors,
)

EMBED_BATCHES_IN_FLIGHT = 4     # an input list of the gateway's maximum size is 21 batches
_RETRY_DELAY = re.compile(r"([\d.]+)s")


class GeminiProvider(Provider, EmbeddingProvider):
    unsupported_parameters = frozenset(("logprobs", "top_logprobs", "logit_bias", "parallel_tool_calls"))

    def __init__(self, config: ProviderConfig, transport: Transport):
        super().__init__(config)
        self._transport = transport
        self._models_url = provider_type(config).base_url(config) + "/v1beta/models/"
        self._headers = {"Content-Type": "application/json", "x-goog-api-key": config.api_key or ""}

    async def chat(self, call: ChatCall) -> ChatResult:
        request = await self._native_request(call)
        data = await self._post(self._url(call.body["model"], "generateContent"), request)
        body = to_openai_completion(data, call.body["model"], first_call_number(call.body))
        return ChatResult(body, Usage.from_openai(body["usage"]))

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[dict]:
        request = await self._native_request(call)
        translator = StreamTranslator(call.body["model"], first_call_number(call.body))
        url = self._url(call.body["model"], "streamGenerateContent") + "?alt=sse"
        headers = {**self._headers, "Accept": "text/event-stream"}
        async with transport_errors(self.id):
            response = await self._transport.session.post(url, data=orjson.dumps(request), headers=headers)
        try:
            if response.status >= 400:
                raise upstream_error(self.id, response.status, await response.read(), response.headers)
            async with transport_errors(self.id):
                async for payload in read_payloads(response.content):
                    event = parse_json(self.id, payload)
                    if "error" in event:
                        raise error_from_body(self.id, event["error"], None, mid_stream=True)
                    for chunk in translator.chunks(event):
                        yield chunk
            for chunk in translator.final_chunks():
                yield chunk
        finally:
            response.release()

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        texts = text_inputs(self.id, call.body)
        batches = [texts[start:start + EMBED_BATCH_LIMIT] for start in range(0, len(texts), EMBED_BATCH_LIMIT)]
        answers = await all_or_first_error(
            [self._embed_batch(call.body["model"], batch, call.body.get("dimensions")) for batch in batches],
            EMBED_BATCHES_IN_FLIGHT)
        vectors = [vector for batch_vectors, _ in answers for vector in batch_vectors]
        return EmbeddingResult(vectors, Usage(prompt_tokens=sum(tokens for _, tokens in answers)))

    async def _embed_batch(self, model: str, texts: list[str], dimensions: int | None) -> tuple[list[list[float]], int]:
        """One batchEmbedContents call: its vectors in input order, and its prompt tokens."""
        request = to_batch_embed_request(model, texts, dimensions)
        data = await self._post(self._url(model, "batchEmbedContents"), request)
        vectors = embedding_vectors(data)
        if vectors is None or len(vectors) != len(texts):
            raise upstream_failure(Failure.MALFORMED, self.id, message=f"provider {self.id} sent malformed embeddings",
                                   retryable=False)
        return vectors, embedding_prompt_tokens(data, texts)

    async def _post(self, url: str, request: dict) -> dict:
        """A non-streaming call; HTTP errors and error bodies become UpstreamErrors."""
        async with transport_errors(self.id):
            async with self._transport.session.post(url, data=orjson.dumps(request), headers=self._headers) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise upstream_error(self.id, response.status, raw, response.headers)
        data = parse_json(self.id, raw)
        if "error" in data:
            raise error_from_body(self.id, data["error"], None)
        return data

    async def _native_request(self, call: ChatCall) -> dict:
        urls = image_urls(call.body)
        fetched = await fetch_images(self._transport.session, urls, self._transport.image_fetch) if urls else {}
        return to_gemini_request(call.body, fetched)

    def _url(self, model: str, method: str) -> str:
        return f"{self._models_url}{quote(model.removeprefix('models/'), safe='')}:{method}"


async def read_payloads(lines: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """JSON payloads of an `alt=sse` stream: each event's data lines, and also an error object that
    arrives bare over several lines with no `data:` prefix (seen from the API; the official SDK
    accepts it too)."""
    data: list[bytes] = []
    bare: list[bytes] = []
    async for raw in lines:
        line = raw.rstrip(b"\r\n")
        if bare or (not data and line.lstrip().startswith(b"{")):
            bare.append(line)
            joined = b"\n".join(bare)
            if joined.count(b"{") == joined.count(b"}"):
                bare = []
                yield joined
        elif line.startswith(b"data:"):
            data.append(line[5:].removeprefix(b" "))
        elif not line and data:
            yield b"\n".join(data)
            data = []
    if data:
        yield b"\n".join(data)
    if bare:
        yield b"\n".join(bare)


def upstream_error(provider_id: str, status: int, raw: bytes, headers) -> UpstreamError:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, list) and data:      # errors on the non-SSE stream come wrapped in an array
        data = data[0]
    error = data.get("error") if isinstance(data, dict) else None
    error = error if isinstance(error, dict) else {}
    return error_from_body(provider_id, {**error, "code": status}, retry_after_seconds(headers))


# Gemini's 503 is UNAVAILABLE ("the model is overloaded"); 499 is CANCELLED, worth another try.
STATUS_FAILURES = {503: Failure.OVERLOADED, 499: Failure.SERVER_ERROR}


def error_from_body(provider_id: str, error: object, retry_after: float | None, *,
                    mid_stream: bool = False) -> UpstreamError:
    """A Google RPC error ({code, message, status, details}) as ours. Our own key, billing or region
    problems are reported by their RPC status or reason, whatever the HTTP status."""
    error = error if isinstance(error, dict) else {"message": str(error)}
    code = error.get("code")
    status = code if isinstance(code, int) else 500
    rpc_status = error.get("status") or ""
    message = error.get("message") or f"provider {provider_id} answered HTTP {status}"
    failure = failure_of_status(status, STATUS_FAILURES)
    if "API_KEY_INVALID" in _reasons(error):
        failure = Failure.AUTH
    elif rpc_status == "FAILED_PRECONDITION" and failure is not Failure.AUTH:
        failure = Failure.UNAVAILABLE
    elif mid_stream and failure in (Failure.BAD_REQUEST, Failure.SERVER_ERROR, Failure.REFUSED):
        return upstream_failure(Failure.STREAM_ERROR, provider_id,
                                message=f"provider {provider_id} failed mid-stream: {message}")
    return upstream_failure(failure, provider_id, status=status,
                            message=message if failure is Failure.BAD_REQUEST else None,
                            code=rpc_status.lower() or None, retry_after=_retry_delay(error) or retry_after)


def _reasons(error: dict) -> set[str]:
    details = error.get("details")
    return {str(d.get("reason")) for d in details if isinstance(d, dict)} if isinstance(details, list) else set()


def _retry_delay(error: dict) -> float | None:
    """google.rpc.RetryInfo's retryDelay (e.g. "23s" or "1.5s"), which Gemini sends on 429s."""
    for detail in error.get("details") or []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        match = _RETRY_DELAY.fullmatch(delay) if isinstance(delay, str) else None
        if match:
            return float(match[1])
    return None
