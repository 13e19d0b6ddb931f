"""After the upstream answered (or failed): settle the hold and record the usage, exactly once."""

import time
from dataclasses import dataclass, field

from alltoken.analytics.events import UsageEvent
from alltoken.billing.ledger import Charge
from alltoken.billing.reservations import Settlement
from alltoken.http.auth import Caller
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_number
from alltoken.pricing import Usage, cost_units
from alltoken.runtime.admission import Admission


@dataclass(slots=True)
class Outcome:
    status: str                 # ok | error | cancelled
    http_status: int
    usage: Usage = field(default_factory=Usage)
    error_code: str | None = None
    finish_reason: str | None = None
    ttft_ms: int | None = None


async def finish(state, request_id: str, caller: Caller, admission: Admission, outcome: Outcome, *,
                 endpoint: str, streamed: bool, started: float) -> int:
    """Charge for a served request (nothing for a failed one) and queue its usage record. Returns the
    charge. Exactly once per request: a request finished already (runtime/settlement.py) is left as it
    is, and this returns 0."""
    if state.admissions.take(request_id) is None:
        return 0
    settlement = await _settle(state, admission, outcome)
    state.rate_limits.used(request_id, outcome.usage.total_tokens)
    if settlement.uncollected_units:
        state.shortfalls.count(settlement)
    charge = Charge(caller.account.id, request_id, settlement.charged_units, settlement.uncollected_units) \
        if outcome.status != "error" else None
    usage = outcome.usage
    state.recorder.record(UsageEvent(
        id=request_id, account_id=caller.account.id, key_id=caller.key.id, model=admission.model.id,
        provider=admission.route.provider.id, upstream_model=admission.route.upstream_model, endpoint=endpoint,
        streamed=streamed, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
        cached_tokens=usage.cached_tokens, cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens, cost_units=settlement.charged_units,
        latency_ms=int((time.perf_counter() - started) * 1000), ttft_ms=outcome.ttft_ms, status=outcome.status,
        http_status=outcome.http_status, error_code=outcome.error_code, finish_reason=outcome.finish_reason,
        attempts=[attempt.as_dict() for attempt in admission.attempts] or None, created_at=utcnow(),
        user_id=caller.key.member.user_id if caller.key.member else None,
        uncollected_units=settlement.uncollected_units), charge)
    return settlement.charged_units


async def _settle(state, admission: Admission, outcome: Outcome) -> Settlement:
    """A failed request costs nothing; a served one its cost, capped at what the balance and limits can take."""
    if outcome.status == "error":
        state.book.release(admission.hold)
        return Settlement(0)
    cost = cost_units(admission.route.price, outcome.usage)
    return await state.book.settle(admission.hold, cost) or Settlement(0)


def with_cost(usage_body: dict | None, usage: Usage, cost: int) -> dict:
    """The provider's usage object as reported, plus `cost` in USD."""
    body = dict(usage_body) if usage_body else {
        "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens}
    body["cost"] = units_to_usd_number(cost)
    return body
