"""GET /metrics: Prometheus text, computed at scrape time from the health book and the tally of
uncollected settlements (nothing on the hot path).

Labels are bounded by configuration: one `route` per configured provider and model, and for
uncollected cost what capped it (balance, key, member); never an account or any user-supplied value.
"""

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from alltoken.billing.reservations import ShortfallTally
from alltoken.money import UNITS_PER_USD
from alltoken.routing.health import HealthBook
from alltoken.routing.models import ModelTable
from alltoken.routing.router import route_key

_BREAKER_STATES = ("closed", "half_open", "open")
_CAPPED_BY = ("balance", "key", "member")


class Measured(Protocol):
    """What the metrics are read from (the running gateway, runtime/gateway.py)."""
    models: ModelTable
    health: HealthBook
    shortfalls: ShortfallTally


class RouteHealthCollector:
    def __init__(self, state: Measured):
        self._state = state

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        requests = CounterMetricFamily("alltoken_route_requests", "Attempts on a route, by outcome",
                                       labels=["route", "outcome"])
        breaker = GaugeMetricFamily("alltoken_route_breaker_state", "1 for the breaker's current state",
                                    labels=["route", "state"])
        success = GaugeMetricFamily("alltoken_route_success_ratio", "Success ratio over the last 5 minutes",
                                    labels=["route"])
        latency = GaugeMetricFamily("alltoken_route_latency_p50_seconds", "Median latency over the last 5 minutes",
                                    labels=["route"])
        health = self._state.health
        for key in _configured_routes(self._state):
            route, snapshot = health.route(key), health.snapshot(key)
            requests.add_metric([key, "ok"], route.total_ok)
            requests.add_metric([key, "error"], route.total_failed)
            for name in _BREAKER_STATES:
                breaker.add_metric([key, name], 1.0 if snapshot["breaker"] == name else 0.0)
            if snapshot["success_rate"] is not None:
                success.add_metric([key], snapshot["success_rate"])
            if snapshot["latency_ms_p50"] is not None:
                latency.add_metric([key], snapshot["latency_ms_p50"] / 1000)
        yield from (requests, breaker, success, latency)


class UncollectedCollector:
    """Settlements this process capped at what the balance or a limit could take (runtime/accounting.py):
    a non-zero rate means an upstream reports more usage than requests were held for. The admin view
    (GET /api/admin/uncollected) names the accounts."""

    def __init__(self, state: Measured):
        self._state = state

    def collect(self) -> Iterator[CounterMetricFamily]:
        settlements = CounterMetricFamily("alltoken_uncollected_settlements",
                                          "Requests charged less than they cost, by what capped the charge",
                                          labels=["capped_by"])
        usd = CounterMetricFamily("alltoken_uncollected_usd", "Cost not collected, by what capped the charge",
                                  labels=["capped_by"])
        tally = self._state.shortfalls
        for which in _CAPPED_BY:
            settlements.add_metric([which], tally.settlements.get(which, 0))
            usd.add_metric([which], tally.units.get(which, 0) / UNITS_PER_USD)
        yield from (settlements, usd)


def _configured_routes(state: Measured) -> list[str]:
    return sorted({route_key(route) for model in state.models.all() for route in model.routes})


def metrics_registry(state: Measured) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(RouteHealthCollector(state))
    registry.register(UncollectedCollector(state))
    return registry
