"""Every upstream route's health, once each: what GET /status (http/ops/status.py), the admin API and the
console show."""

from typing import Any, Protocol

from alltoken.routing.health import HealthBook
from alltoken.routing.models import ModelTable
from alltoken.routing.router import route_key


class RouteHost(Protocol):
    """What holds the routes and their health (the running gateway, runtime/gateway.py)."""
    models: ModelTable
    health: HealthBook


def route_statuses(state: RouteHost) -> list[dict[str, Any]]:
    seen, rows = set(), []
    for model in state.models.all():
        for route in model.routes:
            key = route_key(route)
            if key not in seen:
                seen.add(key)
                rows.append({**state.health.snapshot(key), "provider": route.provider.id,
                             "upstream_model": route.upstream_model})
    return rows
