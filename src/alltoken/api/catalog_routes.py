"""What the console's Models and Status pages show: the model catalog with prices, and provider health.
The same views as GET /v1/models and GET /status, under /api so the console needs no other API."""

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ..gateway.info import model_entry
from ..routing.status import route_statuses
from .callers import AccountCaller, account_caller

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
async def list_models(request: Request, _: AccountCaller = Depends(account_caller)) -> ModelList:
    """The models the caller's account can call, with their prices and context length."""
    return ModelList(data=[model_entry(model) for model in request.app.state.gateway.models.all()])


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
    return StatusView(routes=route_statuses(request.app.state.gateway))
