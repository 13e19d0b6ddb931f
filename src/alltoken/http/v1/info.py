"""Read-only data-plane endpoints: models, the caller's credits and key, one generation's record."""

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from alltoken.analytics.recorder import UsageEvent
from alltoken.errors import AllTokenError
from alltoken.http.auth import authenticate, bearer_token
from alltoken.http.errors import bad_request, not_found
from alltoken.http.gateway import gateway_of
from alltoken.http.plumbing import endpoint, json_response
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_number, units_to_usd_str
from alltoken.periods import next_reset
from alltoken.runtime.admission import usable_routes
from alltoken.runtime.budgets import key_spend, member_spend
from alltoken.runtime.exchange import Caller
from alltoken.runtime.gateway import Gateway
from alltoken.runtime.rate_limits import limits_in_force
from alltoken.store.models import UsageRecord


@endpoint
async def list_models(request: Request) -> Response:
    """Every model, or with a valid key only those the caller may use, each with the routes it may take."""
    gateway = gateway_of(request)
    caller = await _caller_if_any(request, gateway)
    listed = [(model, usable_routes(model, caller) if caller else model.routes) for model in gateway.models.all()]
    return json_response({"object": "list", "data": [model_entry(m, routes) for m, routes in listed if routes]})


async def _caller_if_any(request: Request, gateway: Gateway) -> Caller | None:
    """The caller, when the request carries a key that passes. The list is public, so any other key
    (SDKs need one: a placeholder, a revoked key) gets the public list rather than an error."""
    if bearer_token(request) is None:
        return None
    try:
        return await authenticate(request, gateway.auth)
    except AllTokenError:
        return None


def model_entry(model, routes=None) -> dict:
    """A model as /v1/models and the console show it (with `routes`, only those the caller may take):
    prices in USD per token, decimal strings."""
    routes = routes or model.routes
    return {
        "id": model.id, "object": "model", "created": 0, "owned_by": model.id.split("/", 1)[0],
        "name": model.name, "kind": model.kind, "context_length": model.context_length,
        "max_output_tokens": model.max_output_tokens,
        "providers": [route.provider.id for route in routes],
        "pricing": routes[0].price.as_usd_strings(),
    }


@endpoint
async def credits(request: Request) -> Response:
    gateway = gateway_of(request)
    caller = await authenticate(request, gateway.auth, allow_billing_hold=True)  # a held account sees what it owes
    account_id = caller.account.id
    balance = await gateway.book.balance_units(account_id)
    reserved = gateway.book.reserved_units(account_id)
    return json_response({"data": {
        "account_id": account_id,
        "balance_usd": units_to_usd_str(balance),
        "reserved_usd": units_to_usd_str(reserved),
        "available_usd": units_to_usd_str(balance - reserved),
        "credit_line_usd": units_to_usd_str(caller.account.credit_line_units),
        "balance": units_to_usd_number(balance),
    }})


@endpoint
async def current_key(request: Request) -> Response:
    gateway = gateway_of(request)
    caller = await authenticate(request, gateway.auth)
    key = caller.key
    now = utcnow()
    spent, _ = await key_spend(gateway, key, now)
    member = None
    if key.member is not None:
        member_spent, _ = await member_spend(gateway, key.account_id, key.member, now)
        member = {"user_id": key.member.user_id, "role": key.member.role,
                  **_limit_fields(member_spent, key.member.limit_units, key.member.limit_reset, now)}
    return json_response({"data": {
        "id": key.id, "name": key.name, "label": key.hint,
        **_limit_fields(spent, key.limit_units, key.limit_reset, now),
        "models": sorted(key.models) if key.models else None,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "created_at": key.created_at.isoformat(),
        "member": member,
        "rate_limits": limits_in_force(caller),
    }})


def _limit_fields(spent: int, limit_units: int | None, reset: str | None, now) -> dict:
    remaining = None if limit_units is None else max(limit_units - spent, 0)
    return {
        "usage_usd": units_to_usd_str(spent), "usage": units_to_usd_number(spent),
        "limit_usd": None if limit_units is None else units_to_usd_str(limit_units),
        "limit": None if limit_units is None else units_to_usd_number(limit_units),
        "limit_remaining": None if remaining is None else units_to_usd_number(remaining),
        "limit_reset": reset,
        "limit_resets_at": next_reset(reset, now).isoformat() if reset else None,
    }


@endpoint
async def generation(request: Request) -> Response:
    gateway = gateway_of(request)
    caller = await authenticate(request, gateway.auth)
    generation_id = request.query_params.get("id")
    if not generation_id:
        raise bad_request("query parameter 'id' is required (the x-request-id of a response)", param="id")
    record: UsageEvent | UsageRecord | None = gateway.recorder.pending(generation_id)
    if record is None:
        async with gateway.sessions() as session:
            record = (await session.execute(select(UsageRecord).where(UsageRecord.id == generation_id))).scalar()
    if record is None or record.account_id != caller.account.id:
        raise not_found(f"no generation {generation_id} on this account", param="id")
    return json_response({"data": _generation_entry(record)})


def _generation_entry(record) -> dict:
    return {
        "id": record.id, "model": record.model, "provider": record.provider,
        "upstream_model": record.upstream_model, "endpoint": record.endpoint, "streamed": record.streamed,
        "status": record.status, "http_status": record.http_status, "error_code": record.error_code,
        "finish_reason": record.finish_reason,
        "tokens_prompt": record.prompt_tokens, "tokens_completion": record.completion_tokens,
        "tokens_cached": record.cached_tokens, "tokens_cache_write": record.cache_write_tokens,
        "tokens_reasoning": record.reasoning_tokens,
        "cost": units_to_usd_number(record.cost_units), "cost_usd": units_to_usd_str(record.cost_units),
        "latency_ms": record.latency_ms, "time_to_first_token_ms": record.ttft_ms,
        "key_id": record.key_id, "created_at": record.created_at.isoformat(),
        "attempts": record.attempts or [],
    }
