"""Liveness and readiness."""

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from .http import endpoint, json_response


@endpoint
async def live(request: Request) -> Response:
    return json_response({"status": "ok"})


@endpoint
async def ready(request: Request) -> Response:
    state = request.app.state.gateway
    try:
        async with state.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        return json_response({"status": "unavailable", "database": type(exc).__name__}, status=503)
    return json_response({"status": "ok", "database": "ok"})
