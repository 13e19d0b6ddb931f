"""GET /metrics: the process's Prometheus metrics (the collectors are analytics/metrics.py's)."""

from prometheus_client import generate_latest
from starlette.requests import Request
from starlette.responses import Response


async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8")
