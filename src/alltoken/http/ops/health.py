"""Liveness and readiness."""

import asyncio
from collections.abc import Awaitable

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from alltoken.http.gateway import gateway_of
from alltoken.http.plumbing import endpoint, json_response
from alltoken.runtime.gateway import Gateway

CHECK_SECONDS = 3.0   # a load balancer's probe must get an answer, not hang with an unreachable store


@endpoint
async def live(request: Request) -> Response:
    return json_response({"status": "ok"})


@endpoint
async def ready(request: Request) -> Response:
    """Ready when the database answers, and Redis too when the gateway shares state through it;
    a 503 names the one that failed."""
    gateway = gateway_of(request)
    checks = {"database": await _failure(_database(gateway))}
    if gateway.redis is not None:
        checks["redis"] = await _failure(gateway.redis.ping())
    ready = all(result == "ok" for result in checks.values())
    return json_response({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)


async def _database(gateway: Gateway) -> None:
    async with gateway.sessions() as session:
        await session.execute(text("SELECT 1"))


async def _failure(check: Awaitable[object]) -> str:
    """"ok", or the name of the error the check ended with."""
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            await check
    except Exception as exc:
        return type(exc).__name__
    return "ok"
