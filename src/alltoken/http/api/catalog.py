"""What the console's Models and Status pages show: the model catalog with prices, and provider health.
The same views as GET /v1/models and GET /status, under /api so the console needs no other API."""

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from alltoken.http.api.callers import AccountCaller, account_caller
from alltoken.http.gateway import gateway_of
from alltoken.http.v1.info import model_entry
from alltoken.routing.status import route_statuses
from alltoken.runtime.admission import routes_for

router = APIRouter(tags=["catalog"])


class ModelView(BaseModel):
    id: str
    object: str
    created: int
    owned_by: str
    name: str
    kind: str
    context_length: int | None
    max_output_tokens: int | None
    providers: list[str]
    pricing: dict[str, str] = Field(description="USD per token as decimal strings (request: per request)")


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelView]


@router.get("/models", response_model=ModelList)
async def list_models(request: Request, caller: AccountCaller = Depends(account_caller)) -> ModelList:
    """The models the caller's account (and key, when called with one) can call, each with the providers
    that may serve it, their prices and context length."""
    state = gateway_of(request)
    account = await state.loaders.account(caller.account_id)
    if account is None:
        raise RuntimeError(f"the caller's account {caller.account_id} did not load")
    key_models = caller.key.models if caller.key else None
    listed = [(model, routes_for(model, account, key_models)) for model in state.models.all()]
    return ModelList(data=[ModelView.model_validate(model_entry(model, routes)) for model, routes in listed if routes])


class RouteHealth(BaseModel):
    route: str
    provider: str
    upstream_model: str
    breaker: str = Field(description="closed (serving), open (skipped until its cool-down ends) or half_open")
    requests: int = Field(description="Requests in the last 5 minutes")
    success_rate: float | None
    latency_ms_p50: float | None
    latency_ms_p90: float | None
    ttft_ms_p50: float | None
    output_tokens_per_s_p50: float | None
    last_error: str | None


class StatusView(BaseModel):
    routes: list[RouteHealth]


@router.get("/status", response_model=StatusView)
async def provider_status(request: Request) -> StatusView:
    """Every route's rolling health, as the public GET /status shows it."""
    return StatusView(routes=[RouteHealth.model_validate(route) for route in route_statuses(gateway_of(request))])
