"""Which routes a request may take, in which order, and why the others were left out.

Cost is linear in the routes of the requested model (and its fallback models), never in the catalog.
"""

import random
from dataclasses import dataclass

from alltoken.routing.health import HealthBook
from alltoken.routing.models import PublicModel, Route
from alltoken.routing.policy import RoutingPolicy
from alltoken.routing.preferences import Preferences


@dataclass(frozen=True, slots=True)
class Candidate:
    model: PublicModel
    route: Route


@dataclass(frozen=True, slots=True)
class Skipped:
    route: str
    reason: str


def route_key(route: Route) -> str:
    return f"{route.provider.id}/{route.upstream_model}"


def plan(models: list[PublicModel], prefs: Preferences, health: HealthBook, rng: random.Random | None = None,
         policy: RoutingPolicy | None = None) -> tuple[list[Candidate], list[Skipped]]:
    """Candidates for the requested model first, then each fallback model's, each model's routes
    filtered by the account's policy, then the preferences, and ordered by the sort (or the
    model's strategy)."""
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    for number, model in enumerate(models):
        if number and not prefs.allow_fallbacks:
            break
        allowed = [route for route in model.routes if _admissible(route, prefs, skipped, policy)]
        for route in _ordered(model, allowed, prefs, health, rng or random):
            candidates.append(Candidate(model, route))
    if not prefs.allow_fallbacks and candidates:
        keep = len([c for c in candidates if c.route.provider.id in prefs.order]) or 1
        skipped += [Skipped(route_key(c.route), "fallbacks_not_allowed") for c in candidates[keep:]]
        candidates = candidates[:keep]
    return candidates, skipped


def _admissible(route: Route, prefs: Preferences, skipped: list[Skipped], policy: RoutingPolicy | None) -> bool:
    reason = None
    provider_id = route.provider.id
    if policy is not None and policy.refuses(provider_id, route.provider.config.region):
        reason = "account_policy"
    elif prefs.only is not None and provider_id not in prefs.only:
        reason = "not_in_only"
    elif provider_id in prefs.ignore:
        reason = "ignored"
    elif prefs.max_prompt_units is not None and route.price.prompt > prefs.max_prompt_units:
        reason = "over_max_price"
    elif prefs.max_completion_units is not None and route.price.completion > prefs.max_completion_units:
        reason = "over_max_price"
    elif prefs.deny_data_collection and (route.provider.retains_prompts or route.provider.trains_on_prompts):
        reason = "data_policy"
    elif prefs.required_parameters & route.provider.unsupported_parameters:
        reason = "unsupported_parameters"
    if reason:
        skipped.append(Skipped(route_key(route), reason))
    return reason is None


def _ordered(model: PublicModel, routes: list[Route], prefs: Preferences, health: HealthBook, rng) -> list[Route]:
    sort = prefs.sort or model.strategy
    if sort == "price":
        routes = sorted(routes, key=lambda r: r.price.prompt + r.price.completion)
    elif sort == "latency":
        routes = sorted(routes, key=lambda r: _stat_or_last(health, r, "latency_ms_p50"))
    elif sort == "throughput":
        routes = sorted(routes, key=lambda r: -_stat_or_none(health, r, "output_tokens_per_s_p50", default=-1.0))
    elif sort == "weighted":
        routes = _weighted_shuffle(routes, rng)
    if prefs.order:  # explicit order wins over the sort; unnamed routes keep their sorted place after
        rank = {provider: index for index, provider in enumerate(prefs.order)}
        routes = sorted(routes, key=lambda r: rank.get(r.provider.id, len(rank)))
    return routes


def _stat_or_last(health: HealthBook, route: Route, stat: str) -> float:
    value = health.snapshot(route_key(route))[stat]
    return float("inf") if value is None else value


def _stat_or_none(health: HealthBook, route: Route, stat: str, default: float) -> float:
    value = health.snapshot(route_key(route))[stat]
    return default if value is None else value


def _weighted_shuffle(routes: list[Route], rng) -> list[Route]:
    """Order by weighted random draw without replacement (Efraimidis-Spirakis keys)."""
    return sorted(routes, key=lambda r: -(rng.random() ** (1.0 / max(r.weight, 1e-9))))
