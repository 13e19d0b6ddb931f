"""Meta's Llama API through its OpenAI-compatible endpoint (`https://api.llama.com/compat/v1`).

The compat endpoint takes and returns OpenAI's shapes (Meta's Llama API documentation, "OpenAI compatibility").
What differs, and what this module does about it:
- a stream request without `Accept: text/event-stream` is refused with 400 (seen from the API): OpenAIProvider
  always sends that header on streams, and follows the 307 redirect the API has answered streams with;
- `response_format` works only as `json_schema` (LiteLLM's Llama API notes), so JSON mode asks for any object;
- tool calls may lack `type` and usage may come as the native API's `metrics` list or on the last content chunk
  (both seen from the API): both are put in OpenAI's places, usage in our final `choices: []` chunk;
- 503 means the service is over capacity: retryable.
"""

import dataclasses
from collections.abc import AsyncIterator

import orjson

from alltoken.config import ProviderConfig
from alltoken.config.provider_types import provider_type
from alltoken.providers.failures import Failure
from alltoken.providers.openai.client import OpenAIProvider
from alltoken.providers.transport import Transport

ANY_JSON_OBJECT = {"type": "json_schema", "json_schema": {"name": "json_object", "schema": {"type": "object"}}}
METRIC_NAMES = {"num_prompt_tokens": "prompt_tokens", "num_completion_tokens": "completion_tokens",
                "num_total_tokens": "total_tokens"}


class LlamaProvider(OpenAIProvider):
    def __init__(self, config: ProviderConfig, transport: Transport):
        super().__init__(dataclasses.replace(config, base_url=provider_type(config).base_url(config)), transport)

    def _upstream_body(self, body: dict, *, stream: bool) -> dict:
        return to_llama_request(super()._upstream_body(body, stream=stream))

    def _adapt_response(self, data: dict) -> dict:
        return from_llama_response(data)

    async def _adapt_stream(self, chunks: AsyncIterator[dict]) -> AsyncIterator[dict]:
        stream = LlamaStream()
        async for chunk in chunks:
            if (ours := stream.translate(chunk)) is not None:
                yield ours
        for ours in stream.finish():
            yield ours

    status_failures = {503: Failure.OVERLOADED}   # the service is over capacity

    def _error_detail(self, raw: bytes) -> dict[str, str]:
        return problem_detail(raw) or super()._error_detail(raw)


def to_llama_request(body: dict) -> dict:
    response_format = body.get("response_format")
    if response_format and response_format["type"] == "json_object":
        return {**body, "response_format": ANY_JSON_OBJECT}
    return body


def from_llama_response(data: dict) -> dict:
    for choice in data.get("choices") or []:
        _typed_tool_calls((choice.get("message") or {}).get("tool_calls"))
    if not data.get("usage") and data.get("metrics"):
        data["usage"] = usage_from_metrics(data["metrics"])
    return data


def usage_from_metrics(metrics) -> dict | None:
    """The native API's `[{"metric": "num_prompt_tokens", "value": 20, "unit": "tokens"}, ...]` as OpenAI usage."""
    usage = {METRIC_NAMES[m["metric"]]: int(m["value"]) for m in metrics if isinstance(m, dict)
             and m.get("metric") in METRIC_NAMES and isinstance(m.get("value"), (int, float))}
    return usage or None


def _typed_tool_calls(calls) -> None:
    for call in calls or []:
        if isinstance(call, dict) and call.get("id"):  # a call's first delta, or a whole call
            call.setdefault("type", "function")


class LlamaStream:
    """One stream's translation: chunks pass with typed tool calls; usage, wherever it arrives, is held back for
    the final `choices: []` chunk."""

    def __init__(self):
        self._envelope: dict = {}
        self._usage: dict | None = None

    def translate(self, chunk: dict) -> dict | None:
        self._envelope = {k: chunk[k] for k in ("id", "object", "created", "model") if k in chunk}
        usage = chunk.get("usage") or (usage_from_metrics(chunk["metrics"]) if chunk.get("metrics") else None)
        if usage:
            self._usage = usage
            chunk = {k: v for k, v in chunk.items() if k not in ("usage", "metrics")}
        if not chunk.get("choices"):
            return None if usage else chunk
        for choice in chunk["choices"]:
            _typed_tool_calls((choice.get("delta") or {}).get("tool_calls"))
        return chunk

    def finish(self) -> list[dict]:
        return [{**self._envelope, "choices": [], "usage": self._usage}] if self._usage else []


def problem_detail(raw: bytes) -> dict:
    """The message of an RFC 7807 style body (`{"title", "detail", "status"}`), which the API has answered with;
    empty for anything else."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(data, dict) or "error" in data or "title" not in data:
        return {}
    message = data.get("detail") if isinstance(data.get("detail"), str) else data.get("title")
    return {"message": message} if isinstance(message, str) else {}
