"""After the upstream answered (or failed): settle the hold and record the usage, exactly once."""

from dataclasses import dataclass, field
from typing import Any

from alltoken.analytics.events import UsageEvent
from alltoken.billing.ledger import Charge
from alltoken.billing.reservations import Settlement
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_number
from alltoken.pricing import Usage, cost_units
from alltoken.runtime.exchange import Exchange
from alltoken.runtime.gateway import Gateway


@dataclass(slots=True)
class Outcome:
    status: str                 # ok | error | cancelled
    http_status: int
    usage: Usage = field(default_factory=Usage)
    error_code: str | None = None
    finish_reason: str | None = None
    ttft_ms: int | None = None


async def finish(gateway: Gateway, exchange: Exchange, outcome: Outcome) -> int:
    """Charge for a served request (nothing for a failed one) and queue its usage record. Returns the
    charge. Exactly once per request: a request finished already (runtime/settlement.py) is left as it
    is, and this returns 0."""
    request_id, caller = exchange.request_id, exchange.caller
    if gateway.admissions.take(request_id) is None:
        return 0
    settlement = await _settle(gateway, exchange, outcome)
    gateway.rate_limits.used(request_id, outcome.usage.total_tokens)
    if settlement.uncollected_units:
        gateway.shortfalls.count(settlement)
    charge = Charge(caller.account.id, request_id, settlement.charged_units, settlement.uncollected_units) \
        if outcome.status != "error" else None
    usage, route = outcome.usage, exchange.route
    gateway.recorder.record(UsageEvent(
        id=request_id, account_id=caller.account.id, key_id=caller.key.id, model=exchange.model.id,
        provider=route.provider.id, upstream_model=route.upstream_model, endpoint=exchange.endpoint,
        streamed=exchange.streamed, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
        cached_tokens=usage.cached_tokens, cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens, cost_units=settlement.charged_units,
        latency_ms=exchange.elapsed_ms(), ttft_ms=outcome.ttft_ms, status=outcome.status,
        http_status=outcome.http_status, error_code=outcome.error_code, finish_reason=outcome.finish_reason,
        attempts=[attempt.as_dict() for attempt in exchange.attempts] or None, created_at=utcnow(),
        user_id=caller.key.member.user_id if caller.key.member else None,
        uncollected_units=settlement.uncollected_units), charge)
    return settlement.charged_units


async def _settle(gateway: Gateway, exchange: Exchange, outcome: Outcome) -> Settlement:
    """A failed request costs nothing; a served one its cost, capped at what the balance and limits can take."""
    hold = exchange.admission.hold
    if outcome.status == "error":
        gateway.book.release(hold)
        return Settlement(0)
    cost = cost_units(exchange.route.price, outcome.usage)
    return await gateway.book.settle(hold, cost) or Settlement(0)


def with_cost(usage_body: dict[str, Any] | None, usage: Usage, cost: int) -> dict[str, Any]:
    """The provider's usage object as reported, plus `cost` in USD."""
    body: dict[str, Any] = dict(usage_body) if usage_body else {
        "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens}
    body["cost"] = units_to_usd_number(cost)
    return body
