"""Helpers every provider module shares: transport failures, JSON bodies, retry hints, embedding
inputs and concurrent upstream calls."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
import orjson

from alltoken.errors import UpstreamError
from alltoken.providers.failures import Failure, upstream_failure

T = TypeVar("T")


class transport_errors:
    """`async with transport_errors(provider_id):` turns timeouts and connection failures into
    retryable UpstreamErrors (504 and 502)."""

    def __init__(self, provider_id: str):
        self._provider_id = provider_id

    async def __aenter__(self):
        return self

    async def __aexit__(self, kind, exc, tb):
        if isinstance(exc, asyncio.TimeoutError):
            raise upstream_failure(Failure.TIMEOUT, self._provider_id) from exc
        if isinstance(exc, aiohttp.ClientError):
            reason = f"could not reach provider {self._provider_id}: {type(exc).__name__}"
            raise upstream_failure(Failure.UNREACHABLE, self._provider_id, message=reason) from exc
        return False


def parse_json(provider_id: str, raw: bytes) -> dict:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise upstream_failure(Failure.MALFORMED, provider_id) from exc
    if not isinstance(data, dict):
        raise upstream_failure(Failure.MALFORMED, provider_id, retryable=False)
    return data


def text_inputs(provider_id: str, body: dict) -> list[str]:
    """An embeddings request's `input` as a list of strings. Token-id inputs are ids of OpenAI's
    tokenizers, which mean nothing to other providers' models, so they are a 400."""
    inputs = body["input"]
    if isinstance(inputs, str):
        return [inputs]
    if all(isinstance(item, str) for item in inputs):
        return list(inputs)
    raise UpstreamError(400, f"provider {provider_id} embeds text only: send `input` as a string or an array of "
                        "strings, not token ids", type="invalid_request_error", code="invalid_request", param="input")


def retry_after_seconds(headers) -> float | None:
    value = headers.get("retry-after-ms")
    if value:
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None


async def all_or_first_error(calls: list[Coroutine[Any, Any, T]], limit: int) -> list[T]:
    """Results of `calls` in order, at most `limit` in flight. The first failure cancels the
    rest and is raised as itself, so a UpstreamError reaches the client unchanged."""
    slots = asyncio.Semaphore(limit)

    async def in_slot(call: Coroutine[Any, Any, T]) -> T:
        try:
            async with slots:
                return await call
        finally:
            call.close()    # one cancelled before its turn would otherwise warn "never awaited"

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(in_slot(call)) for call in calls]
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]
