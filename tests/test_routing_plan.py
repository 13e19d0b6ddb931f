"""Route order for each strategy and preference, and the circuit breaker's states, without a network."""

import random

import pytest

from alltoken.config import ProviderConfig
from alltoken.errors import InvalidRequest
from alltoken.http.errors import shape
from alltoken.http.v1.validation import validate_chat
from alltoken.pricing import Price
from alltoken.providers.demo.client import DemoProvider
from alltoken.routing.health import BreakerSettings, HealthBook
from alltoken.routing.models import PublicModel, Route
from alltoken.routing.preferences import parse_preferences, split_variant
from alltoken.routing.router import plan, route_key


def route(provider_id: str, prompt: int, completion: int, weight: float = 1.0) -> Route:
    return Route(DemoProvider(ProviderConfig(id=provider_id, type="demo")), f"m-{provider_id}",
                 Price(prompt=prompt, completion=completion), weight)


A, B, C = route("a", 30, 30), route("b", 10, 10), route("c", 20, 20, weight=3.0)
MODEL = PublicModel("x/m", "M", "chat", 1000, 100, (A, B, C))
OTHER = PublicModel("x/other", "Other", "chat", 1000, 100, (route("d", 1, 1),))


def order(body: dict, health: HealthBook | None = None, models=(MODEL,), variant=None, rng=None) -> list[str]:
    candidates, _ = plan(list(models), parse_preferences(body, variant), health or HealthBook(), rng)
    return [c.route.provider.id for c in candidates]


def test_priority_keeps_configured_order():
    assert order({}) == ["a", "b", "c"]


def test_price_sort_and_the_floor_variant():
    assert order({"provider": {"sort": "price"}}) == ["b", "c", "a"]
    base, sort = split_variant("x/m:floor")
    assert base == "x/m" and order({}, variant=sort) == ["b", "c", "a"]
    assert split_variant("x/m:weird") == ("x/m:weird", None)


def test_latency_and_throughput_sorts_use_health_and_put_unknown_routes_last():
    health = HealthBook()
    health.record(route_key(A), True, latency_ms=50, output_tokens=100)     # 2000 tok/s
    health.record(route_key(C), True, latency_ms=400, output_tokens=100)    # 250 tok/s
    assert order({"provider": {"sort": "latency"}}, health) == ["a", "c", "b"]
    assert order({}, health, variant=split_variant("x/m:nitro")[1]) == ["a", "c", "b"]


def test_weighted_draws_follow_the_weights():
    rng = random.Random(7)
    firsts = [order({}, models=(PublicModel("x/w", "W", "chat", None, None, (A, B, C), "weighted"),), rng=rng)[0]
              for _ in range(2000)]
    share_c = firsts.count("c") / len(firsts)
    assert 0.52 < share_c < 0.68  # weight 3 of 5


def test_order_only_ignore_and_max_price():
    assert order({"provider": {"order": ["c", "a"]}}) == ["c", "a", "b"]
    assert order({"provider": {"only": ["b", "c"]}}) == ["b", "c"]
    assert order({"provider": {"ignore": ["a"]}}) == ["b", "c"]
    # 25 units per token = 25e-12 USD = 0.000025 USD per million tokens
    assert order({"provider": {"max_price": {"prompt": 0.000025}}}) == ["b", "c"]
    candidates, skipped = plan([MODEL], parse_preferences({"provider": {"ignore": ["a"], "only": ["a", "b"]}}),
                               HealthBook())
    assert [s.reason for s in skipped] == ["ignored", "not_in_only"]


def test_fallback_models_follow_and_allow_fallbacks_false_keeps_only_the_first():
    assert order({"models": ["x/other"]}, models=(MODEL, OTHER)) == ["a", "b", "c", "d"]
    assert order({"provider": {"allow_fallbacks": False}}, models=(MODEL, OTHER)) == ["a"]
    assert order({"provider": {"allow_fallbacks": False, "order": ["b", "c"]}}) == ["b", "c"]


@pytest.mark.parametrize("body", [
    {"provider": "fast"}, {"provider": {"sort": "speed"}}, {"provider": {"only": "a"}},
    {"provider": {"allow_fallbacks": "no"}}, {"provider": {"max_price": {"prompt": -1}}}, {"models": "x/other"},
])
def test_bad_preferences_are_400(body):
    """Types are refused with the rest of the request's schema; values (a negative price) when read."""
    with pytest.raises(InvalidRequest) as caught:
        validate_chat({"model": "x/m", "messages": [{"role": "user", "content": "hi"}], **body})
        parse_preferences(body)
    assert shape(caught.value).status == 400


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_breaker_opens_skips_half_opens_and_closes():
    clock = Clock()
    book = HealthBook(BreakerSettings(consecutive_failures=3, cooldown_seconds=10), clock=clock)
    for _ in range(2):
        book.record("r", False, 5, error="upstream_error")
    assert book.allows("r") and book.snapshot("r")["breaker"] == "closed"
    book.record("r", False, 5, error="upstream_error")
    assert not book.allows("r") and book.snapshot("r")["breaker"] == "open"
    clock.now += 10
    assert book.allows("r") and not book.allows("r")  # one probe at a time
    book.record("r", False, 5, error="upstream_timeout")  # the probe failed: open again
    assert not book.allows("r")
    clock.now += 10
    assert book.allows("r")
    book.record("r", True, 5)
    assert book.snapshot("r")["breaker"] == "closed" and book.allows("r") and book.allows("r")


def test_breaker_opens_on_failure_rate():
    book = HealthBook(BreakerSettings(consecutive_failures=100, failure_rate=0.5, min_requests=10))
    for number in range(10):
        book.record("r", number % 3 == 2, 5)  # 3 ok, 7 failed, never 100 in a row
    assert book.snapshot("r")["breaker"] == "open"


def test_snapshot_statistics():
    book = HealthBook()
    for latency in (10, 20, 30, 40):
        book.record("r", True, latency, ttft_ms=latency // 2, output_tokens=10)
    book.record("r", False, 99, error="upstream_rate_limited")
    snap = book.snapshot("r")
    assert snap["requests"] == 5 and snap["success_rate"] == 0.8 and snap["last_error"] == "upstream_rate_limited"
    assert snap["latency_ms_p50"] == 20 and snap["latency_ms_p90"] == 40 and snap["ttft_ms_p50"] == 10


def test_data_collection_deny_keeps_only_providers_that_declare_they_keep_nothing():
    private = Route(DemoProvider(ProviderConfig(id="private", type="demo")), "m", Price(1, 1))
    from alltoken.providers.openai.client import OpenAIProvider
    from alltoken.providers.transport import Transport

    declared = OpenAIProvider(ProviderConfig(id="declared", type="openai", options={
        "data_policy": {"retains_prompts": False, "trains_on_prompts": False}}), Transport())
    undeclared = OpenAIProvider(ProviderConfig(id="undeclared", type="openai"), Transport())
    model = PublicModel("x/p", "P", "chat", None, None,
                        (Route(undeclared, "m", Price(1, 1)), Route(declared, "m", Price(1, 1)), private))
    candidates, skipped = plan([model], parse_preferences({"provider": {"data_collection": "deny"}}), HealthBook())
    assert [c.route.provider.id for c in candidates] == ["declared", "private"]
    assert skipped[0].reason == "data_policy"


def test_require_parameters_skips_providers_that_would_drop_one():
    from alltoken.providers.anthropic.client import AnthropicProvider
    from alltoken.providers.transport import Transport

    claude = Route(AnthropicProvider(ProviderConfig(id="anthropic", type="anthropic"), Transport()), "c", Price(1, 1))
    model = PublicModel("x/q", "Q", "chat", None, None, (claude, A))
    body = {"model": "x/q", "messages": [], "seed": 7, "provider": {"require_parameters": True}}
    assert order(body, models=(model,)) == ["a"]
    assert order({**body, "provider": {}}, models=(model,)) == ["anthropic", "a"]
    assert order({"model": "x/q", "messages": [], "temperature": 0.2, "provider": {"require_parameters": True}},
                 models=(model,)) == ["anthropic", "a"]


def test_account_policy_filters_before_any_preference():
    from alltoken.routing.policy import RoutingPolicy

    eu = Route(DemoProvider(ProviderConfig(id="eu1", type="demo", region="eu")), "m", Price(1, 1))
    model = PublicModel("x/r", "R", "chat", None, None, (A, eu, B))
    policy = RoutingPolicy.from_json({"allow_regions": ["eu"]})
    candidates, skipped = plan([model], parse_preferences({"provider": {"order": ["a"]}}), HealthBook(),
                               policy=policy)
    assert [c.route.provider.id for c in candidates] == ["eu1"]
    assert {s.reason for s in skipped} == {"account_policy"}
    deny = RoutingPolicy.from_json({"deny_providers": ["eu1"], "allow_providers": ["eu1", "b"]})
    candidates, _ = plan([model], parse_preferences({}), HealthBook(), policy=deny)
    assert [c.route.provider.id for c in candidates] == ["b"]
