"""Helpers every provider module shares: transport failures, JSON bodies, retry hints."""

import asyncio

import aiohttp
import orjson

from .base import ProviderError


class transport_errors:
    """`async with transport_errors(provider_id):` turns timeouts and connection failures into
    retryable ProviderErrors (504 and 502)."""

    def __init__(self, provider_id: str):
        self._provider_id = provider_id

    async def __aenter__(self):
        return self

    async def __aexit__(self, kind, exc, tb):
        if isinstance(exc, asyncio.TimeoutError):
            raise ProviderError(504, f"provider {self._provider_id} timed out", code="upstream_timeout",
                                retryable=True) from exc
        if isinstance(exc, aiohttp.ClientError):
            raise ProviderError(502, f"could not reach provider {self._provider_id}: {type(exc).__name__}",
                                code="upstream_unreachable", retryable=True) from exc
        return False


def parse_json(provider_id: str, raw: bytes) -> dict:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProviderError(502, f"provider {provider_id} sent a malformed response", code="upstream_malformed",
                            retryable=True) from exc
    if not isinstance(data, dict):
        raise ProviderError(502, f"provider {provider_id} sent a malformed response", code="upstream_malformed")
    return data


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
