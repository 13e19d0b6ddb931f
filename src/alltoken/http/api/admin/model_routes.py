"""/api/admin/models/{model}/routes and /api/admin/routes/health: a model's upstream routes (read, replace,
reset) and every route's health."""

from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from alltoken.config import ConfigError
from alltoken.http.api.audited import Audited
from alltoken.http.api.callers import AccountCaller, admin
from alltoken.http.errors import bad_request, not_found
from alltoken.http.gateway import gateway_of
from alltoken.routing import overrides
from alltoken.routing.status import route_statuses
from alltoken.runtime.gateway import Gateway

router = APIRouter(prefix="/admin", tags=["admin"])


class RouteSpec(BaseModel):
    provider: str = Field(description="A configured provider id")
    model: str = Field(description="The provider's own model name")
    weight: float = Field(1.0, gt=0, description="Share of traffic under the weighted strategy")
    pricing: dict[str, str] | None = Field(None, description="USD per token as decimal strings; "
                                                            "required when the catalog has no price")


class RoutesUpdate(BaseModel):
    strategy: Literal["priority", "weighted", "price", "latency", "throughput"] = "priority"
    routes: list[RouteSpec] = Field(min_length=1)


class RouteView(BaseModel):
    provider: str
    model: str
    weight: float
    pricing: dict[str, str]


class ModelRoutesView(BaseModel):
    model: str
    strategy: str
    routes: list[RouteView]


@router.get("/models/{model_id:path}/routes", response_model=ModelRoutesView)
async def get_routes(model_id: str, request: Request, _: AccountCaller = Depends(admin)) -> ModelRoutesView:
    return _view(gateway_of(request), model_id)


@router.put("/models/{model_id:path}/routes", response_model=ModelRoutesView)
async def put_routes(model_id: str, update: RoutesUpdate, request: Request, audited: Audited,
                     caller: AccountCaller = Depends(admin)) -> ModelRoutesView:
    """Replace a model's routes at run time; every running process applies it within a second."""
    state = gateway_of(request)
    definition = {"strategy": update.strategy,
                  "routes": [spec.model_dump(exclude_none=True) for spec in update.routes]}
    try:
        # The routing service runs the audited transaction itself: it validates first and rebuilds the models after.
        await overrides.set_routes(state, model_id, definition, caller.actor, audited.address)
    except ConfigError as exc:
        raise bad_request(str(exc), param="routes") from None
    return _view(state, model_id)


@router.delete("/models/{model_id:path}/routes", status_code=204)
async def delete_routes(model_id: str, request: Request, audited: Audited,
                        caller: AccountCaller = Depends(admin)) -> Response:
    """Drop the run-time routes: the model goes back to its config file and catalog routes."""
    if not await overrides.clear_routes(gateway_of(request), model_id, caller.actor, audited.address):
        raise not_found(f"model '{model_id}' has no routes set at run time", param="model_id")
    return Response(status_code=204)


@router.get("/routes/health")
async def routes_health(request: Request, _: AccountCaller = Depends(admin)) -> dict:
    """Rolling-window health of every configured route, as GET /status shows it."""
    return {"routes": route_statuses(gateway_of(request))}


def _view(state: Gateway, model_id: str) -> ModelRoutesView:
    model = state.models.get(model_id)
    if model is None:
        raise not_found(f"no model '{model_id}'", param="model_id", code="model_not_found")
    return ModelRoutesView(model=model.id, strategy=model.strategy, routes=[
        RouteView(provider=r.provider.id, model=r.upstream_model, weight=r.weight, pricing=r.price.as_usd_strings())
        for r in model.routes])
