"""OpenAI Chat Completions, and any server that speaks it (vLLM, Ollama, LM Studio: `openai_compatible`).

Our canonical shape is this wire format, so translation is a pass-through; the work here is
asking for usage on streams, and classifying upstream errors.
"""

from collections.abc import AsyncIterator

import orjson

from ..billing.pricing import Usage
from ..config import ProviderConfig
from .base import ChatCall, ChatResult, Provider, ProviderError
from .sse import read_events
from .transport import Transport
from .upstream import parse_json, retry_after_seconds, transport_errors

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider(Provider):
    def __init__(self, config: ProviderConfig, transport: Transport):
        super().__init__(config)
        if config.type == "openai_compatible" and not config.base_url:
            raise ValueError(f"provider {config.id}: openai_compatible needs a base_url")
        self._transport = transport
        self._chat_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions"
        self._headers = {"Content-Type": "application/json"}
        if config.api_key:
            self._headers["Authorization"] = f"Bearer {config.api_key}"
        organization = config.options.get("organization")
        if organization:
            self._headers["OpenAI-Organization"] = str(organization)

    async def chat(self, call: ChatCall) -> ChatResult:
        body = {**call.body, "stream": False}
        body.pop("stream_options", None)
        async with transport_errors(self.id):
            async with self._transport.session.post(self._chat_url, data=orjson.dumps(body),
                                                    headers=self._headers) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise upstream_error(self.id, response.status, raw, response.headers)
        data = parse_json(self.id, raw)
        return ChatResult(data, Usage.from_openai(data.get("usage")))

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[dict]:
        options = {**(call.body.get("stream_options") or {}), "include_usage": True}
        body = {**call.body, "stream": True, "stream_options": options}
        headers = {**self._headers, "Accept": "text/event-stream"}
        async with transport_errors(self.id):
            response = await self._transport.session.post(self._chat_url, data=orjson.dumps(body), headers=headers)
        try:
            if response.status >= 400:
                raise upstream_error(self.id, response.status, await response.read(), response.headers)
            async with transport_errors(self.id):
                async for event in read_events(response.content):
                    if event.data.startswith("[DONE]"):
                        break
                    chunk = parse_json(self.id, event.data.encode())
                    if "error" in chunk:
                        raise _mid_stream_error(self.id, chunk["error"])
                    yield chunk
        finally:
            response.release()


def upstream_error(provider_id: str, status: int, raw: bytes, headers) -> ProviderError:
    """Map an upstream HTTP error to ours. Client mistakes keep their message; our own
    credential or quota problems are not the caller's business and get a neutral one."""
    detail = _error_detail(raw)
    message = detail.get("message") or f"provider {provider_id} answered HTTP {status}"
    retry_after = retry_after_seconds(headers)
    if status in (400, 404, 409, 413, 422):
        return ProviderError(status, message, type="invalid_request_error", code=detail.get("code"),
                             param=detail.get("param"))
    if status in (401, 403):
        return ProviderError(502, f"provider {provider_id} refused AllToken's credentials", code="upstream_auth")
    if status == 429:
        if "insufficient_quota" in (detail.get("code"), detail.get("type")):
            return ProviderError(502, f"provider {provider_id} account is out of quota",
                                 code="upstream_quota_exhausted")
        return ProviderError(429, f"provider {provider_id} is rate limiting requests", type="rate_limit_error",
                             code="upstream_rate_limited", retryable=True, retry_after=retry_after)
    if status == 408 or status >= 500:
        return ProviderError(502 if status != 504 else 504, f"provider {provider_id} failed with HTTP {status}",
                             code="upstream_error", retryable=True, retry_after=retry_after)
    return ProviderError(502, f"provider {provider_id} answered HTTP {status}", code="upstream_error")


def _mid_stream_error(provider_id: str, error) -> ProviderError:
    message = error.get("message") if isinstance(error, dict) else str(error)
    return ProviderError(502, f"provider {provider_id} failed mid-stream: {message}", code="upstream_stream_error",
                         retryable=True)


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
