"""AWS Bedrock Runtime: Converse and ConverseStream, and InvokeModel for Titan Text Embeddings,
signed with SigV4.

Translation lives in bedrock/translate.py; this module is the wire: signing (botocore), the HTTP
calls, the binary AWS event stream of ConverseStream (botocore's decoder) and Bedrock's errors.
Titan embeds one text a call, so a list of inputs is that many calls, INVOCATIONS_IN_FLIGHT at a
time; usage is the sum of their inputTextTokenCount. botocore (~0.15 s to import) is imported when a
Bedrock provider is made, so a gateway without one never loads it.
"""

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

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
from alltoken.providers.bedrock.translate import (
    FetchedImages,
    StreamTranslator,
    from_converse,
    from_titan,
    https_image_urls,
    to_converse,
    to_titan_bodies,
)
from alltoken.providers.failures import Failure, failure_of_status, upstream_failure
from alltoken.providers.image_fetch import fetch_images
from alltoken.providers.transport import Transport
from alltoken.providers.upstream import (
    all_or_first_error,
    parse_json,
    retry_after_seconds,
    text_inputs,
    transport_errors,
)

if TYPE_CHECKING:
    from botocore.eventstream import EventStreamMessage

SIGNING_NAME = "bedrock"        # the endpoint prefix is bedrock-runtime, the signing name is not
INVOCATIONS_IN_FLIGHT = 16      # per request: Bedrock throttles embedding models by requests per minute

# Bedrock names its failures (x-amzn-ErrorType, or an exception frame mid-stream); a name not here is
# a failure on Bedrock's side, worth another try. Without a name, the HTTP status decides.
_CLIENT_MISTAKES = {"ValidationException": 400, "ResourceNotFoundException": 404}
_NAMED_FAILURES = {
    **{name: Failure.BAD_REQUEST for name in _CLIENT_MISTAKES},
    **{name: Failure.AUTH for name in ("AccessDeniedException", "UnrecognizedClientException",
                                       "InvalidSignatureException", "IncompleteSignatureException",
                                       "MissingAuthenticationTokenException", "ExpiredTokenException")},
    "ThrottlingException": Failure.RATE_LIMITED, "ServiceQuotaExceededException": Failure.RATE_LIMITED,
    "ServiceUnavailableException": Failure.OVERLOADED,
    "ModelNotReadyException": Failure.MODEL_NOT_READY,
    "ModelTimeoutException": Failure.TIMEOUT,
}


class BedrockProvider(Provider, EmbeddingProvider):
    unsupported_parameters = frozenset(("seed", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
                                        "top_logprobs", "parallel_tool_calls", "n"))

    def __init__(self, config: ProviderConfig, transport: Transport):
        super().__init__(config)
        self._transport = transport
        self._base_url = provider_type(config).base_url(config)
        from botocore.auth import SigV4Auth
        from botocore.credentials import Credentials

        token = config.options.get("aws_session_token")
        self._signer = SigV4Auth(Credentials(config.aws_access_key_id, config.aws_secret_access_key,
                                             str(token) if token else None), SIGNING_NAME, config.region)

    async def chat(self, call: ChatCall) -> ChatResult:
        url, payload = await self._prepare(call, "converse")
        body, usage = from_converse(await self._post(url, payload), call.body["model"], _response_id(call))
        return ChatResult(body, usage)

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[dict]:
        url, payload = await self._prepare(call, "converse-stream")
        headers = self._signed_headers(url, payload, "application/vnd.amazon.eventstream")
        async with transport_errors(self.id):
            response = await self._transport.session.post(URL(url, encoded=True), data=payload, headers=headers)
        try:
            if response.status >= 400:
                raise upstream_error(self.id, response.status, await response.read(), response.headers)
            translator = StreamTranslator(call.body["model"], _response_id(call))
            async with transport_errors(self.id):
                async for event_type, event in self._events(response.content):
                    for chunk in translator.feed(event_type, event):
                        yield chunk
            if not translator.finished:
                raise upstream_failure(Failure.STREAM_ERROR, self.id,
                                       message=f"provider {self.id} ended the stream early")
        finally:
            response.release()

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        bodies = to_titan_bodies(text_inputs(self.id, call.body), call.body.get("dimensions"))
        url = self._model_url(call.body["model"], "invoke")
        answers = await all_or_first_error([self._invoke_titan(url, body) for body in bodies], INVOCATIONS_IN_FLIGHT)
        return EmbeddingResult([vector for vector, _ in answers],
                               Usage(prompt_tokens=sum(tokens for _, tokens in answers)))

    async def _invoke_titan(self, url: str, body: dict) -> tuple[list[float], int]:
        answer = from_titan(await self._post(url, orjson.dumps(body)))
        if answer is None:
            raise upstream_failure(Failure.MALFORMED, self.id, message=f"provider {self.id} sent a malformed embedding",
                                   retryable=False)
        return answer

    async def _post(self, url: str, payload: bytes) -> dict:
        """A signed JSON call; HTTP errors become UpstreamErrors. Signing here, as the call is sent,
        keeps the date fresh for calls that waited for a slot."""
        async with transport_errors(self.id):
            async with self._transport.session.post(URL(url, encoded=True), data=payload,
                                                    headers=self._signed_headers(url, payload, "application/json")
                                                    ) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise upstream_error(self.id, response.status, raw, response.headers)
        return parse_json(self.id, raw)

    async def _prepare(self, call: ChatCall, operation: str) -> tuple[str, bytes]:
        """The operation URL and the Converse body (https images fetched first)."""
        images = await self._fetch_images(https_image_urls(call.body))
        return self._model_url(call.body["model"], operation), orjson.dumps(to_converse(call.body, images))

    def _model_url(self, model: str, operation: str) -> str:
        model_id = quote(str(model), safe="")   # ids hold ':' and ARNs '/': one path segment
        return f"{self._base_url}/model/{model_id}/{operation}"

    async def _fetch_images(self, urls: list[str]) -> FetchedImages:
        return await fetch_images(self._transport.session, urls, self._transport.image_fetch) if urls else {}

    def _signed_headers(self, url: str, payload: bytes, accept: str) -> dict[str, str]:
        """SigV4 by botocore; it encodes the already-encoded path once more for the canonical URI,
        as every AWS service but S3 expects."""
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method="POST", url=url, data=payload,
                             headers={"Content-Type": "application/json", "Accept": accept})
        self._signer.add_auth(request)
        return dict(request.headers.items())

    async def _events(self, content: aiohttp.StreamReader) -> AsyncIterator[tuple[str, dict]]:
        """(event type, payload) per frame; exception and error frames raise."""
        from botocore.eventstream import EventStreamBuffer, ParserError

        frames = EventStreamBuffer()
        async for data in content.iter_any():
            try:
                frames.add_data(data)
                messages = list(frames)
            except ParserError as exc:
                raise upstream_failure(Failure.MALFORMED, self.id,
                                       message=f"provider {self.id} sent a malformed event stream") from exc
            for message in messages:
                yield self._event(message)

    def _event(self, message: "EventStreamMessage") -> tuple[str, dict]:
        headers = message.headers
        kind = headers.get(":message-type")
        if kind == "event":
            return str(headers.get(":event-type", "")), parse_json(self.id, message.payload)
        if kind == "exception":
            name = str(headers.get(":exception-type", ""))
            detail = _json_or_empty(message.payload)
            raise bedrock_error(self.id, name[:1].upper() + name[1:], detail.get("message"), mid_stream=True)
        raise bedrock_error(self.id, str(headers.get(":error-code", "")), headers.get(":error-message"),
                            mid_stream=True)


def upstream_error(provider_id: str, status: int, raw: bytes, headers) -> UpstreamError:
    """An HTTP error from Bedrock: the exception name is in x-amzn-ErrorType (or the body's __type)."""
    detail = _json_or_empty(raw)
    name = headers.get("x-amzn-ErrorType", "").split(":")[0] or str(detail.get("__type", "")).split("#")[-1]
    message = detail.get("message") or detail.get("Message")
    return bedrock_error(provider_id, name, message, status=status, retry_after=retry_after_seconds(headers))


def bedrock_error(provider_id: str, name: str, message: object, *, status: int | None = None,
                  retry_after: float | None = None, mid_stream: bool = False) -> UpstreamError:
    """A Bedrock failure by its exception name (else its HTTP status) as ours."""
    if name:
        failure = _NAMED_FAILURES.get(name, Failure.SERVER_ERROR)
    else:
        failure = failure_of_status(status or 500)
    if failure is Failure.BAD_REQUEST:
        kept = str(message) if message else f"provider {provider_id} rejected the request ({name or status})"
        return upstream_failure(failure, provider_id, status=_CLIENT_MISTAKES.get(name, status or 400),
                                message=kept, code=name or None)
    if failure in (Failure.SERVER_ERROR, Failure.REFUSED):
        where = " mid-stream" if mid_stream else ""
        return upstream_failure(Failure.STREAM_ERROR if mid_stream else failure, provider_id, status=status,
                                message=f"provider {provider_id} failed{where} ({name or f'HTTP {status}'})",
                                retry_after=retry_after)
    return upstream_failure(failure, provider_id, status=status, retry_after=retry_after)


def _json_or_empty(raw: bytes) -> dict:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _response_id(call: ChatCall) -> str:
    return f"chatcmpl-{call.request_id}"
