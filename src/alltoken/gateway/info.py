"""Read-only data-plane endpoints: models, the caller's credits and key, one generation's record."""

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from ..billing.money import units_to_usd_number, units_to_usd_str
from ..billing.periods import next_reset
from ..ids import utcnow
from ..store.models import UsageRecord
from .auth import authenticate
from .errors import bad_request, not_found
from .http import endpoint, json_response
from .key_budget import key_spend


@endpoint
async def list_models(request: Request) -> Response:
    models = request.app.state.gateway.models.all()
    return json_response({"object": "list", "data": [model_entry(m) for m in models]})


def model_entry(model) -> dict:
    """A model as /v1/models and the console show it: prices in USD per token, decimal strings."""
    return {
        "id": model.id, "object": "model", "created": 0, "owned_by": model.id.split("/", 1)[0],
        "name": model.name, "kind": model.kind, "context_length": model.context_length,
        "max_output_tokens": model.max_output_tokens,
        "providers": [route.provider.id for route in model.routes],
        "pricing": model.price.as_usd_strings(),
    }


@endpoint
async def credits(request: Request) -> Response:
    state = request.app.state.gateway
    caller = await authenticate(request, state.auth)
    account_id = caller.account.id
    balance = await state.book.balance_units(account_id)
    reserved = state.book.reserved_units(account_id)
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
    state = request.app.state.gateway
    caller = await authenticate(request, state.auth)
    key = caller.key
    now = utcnow()
    spent, _ = await key_spend(state, key, now)
    remaining = None if key.limit_units is None else max(key.limit_units - spent, 0)
    return json_response({"data": {
        "id": key.id, "name": key.name, "label": key.hint,
        "usage_usd": units_to_usd_str(spent), "usage": units_to_usd_number(spent),
        "limit_usd": None if key.limit_units is None else units_to_usd_str(key.limit_units),
        "limit": None if key.limit_units is None else units_to_usd_number(key.limit_units),
        "limit_remaining": None if remaining is None else units_to_usd_number(remaining),
        "limit_reset": key.limit_reset,
        "limit_resets_at": next_reset(key.limit_reset, now).isoformat() if key.limit_reset else None,
        "models": sorted(key.models) if key.models else None,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "created_at": key.created_at.isoformat(),
    }})


@endpoint
async def generation(request: Request) -> Response:
    state = request.app.state.gateway
    caller = await authenticate(request, state.auth)
    generation_id = request.query_params.get("id")
    if not generation_id:
        raise bad_request("query parameter 'id' is required (the x-request-id of a response)", param="id")
    record = state.recorder.pending(generation_id)
    if record is None:
        async with state.sessions() as session:
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
