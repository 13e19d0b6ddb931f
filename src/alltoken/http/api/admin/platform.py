"""Admin endpoints on the platform as a whole: every model route's prices and the platform fees, the
configured providers with their routes' health, and platform analytics from the daily rollups."""

import re
from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from alltoken.analytics.platform_queries import active_accounts, leaders, platform_days
from alltoken.http.api.callers import AccountCaller, admin
from alltoken.http.errors import bad_request
from alltoken.http.gateway import gateway_of
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_str
from alltoken.routing.status import route_statuses

router = APIRouter(prefix="/admin", tags=["admin"])

MAX_ANALYTICS_DAYS = 366
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class FeeTable(BaseModel):
    """The platform fee added to provider prices, as percentages (decimal strings): the most specific wins."""
    default_percent: str
    providers: dict[str, str] = Field(description="provider id -> percent")
    models: dict[str, str] = Field(description="model id -> percent")


class PricedRoute(BaseModel):
    provider: str
    upstream_model: str
    fee_percent: str = Field(description="The platform fee included in `pricing`")
    pricing: dict[str, str] = Field(description="What the account is charged: USD per token (per image for "
                                                "image prices), fee included, as decimal strings")


class PricedModel(BaseModel):
    id: str
    name: str
    kind: str
    strategy: str
    routes: list[PricedRoute]


class PricingView(BaseModel):
    fees: FeeTable
    models: list[PricedModel]


class ProviderView(BaseModel):
    id: str
    type: str
    region: str | None
    base_url: str | None
    models: list[str] = Field(description="Public models with a route to this provider")
    routes: list[dict] = Field(description="Each of its routes' health over the last five minutes "
                                           "(as GET /api/admin/routes/health)")


class ProviderList(BaseModel):
    data: list[ProviderView]


class DayFigures(BaseModel):
    day: date
    requests: int
    failed_requests: int
    spend_usd: str
    active_accounts: int


class LeaderView(BaseModel):
    name: str
    requests: int
    spend_usd: str


class PlatformAnalytics(BaseModel):
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    requests: int
    spend_usd: str
    active_accounts: int = Field(description="Accounts with a request in the range")
    days: list[DayFigures] = Field(description="Only days with requests")
    top_models: list[LeaderView]
    top_providers: list[LeaderView]


@router.get("/pricing", response_model=PricingView)
async def pricing(request: Request, _: AccountCaller = Depends(admin)) -> PricingView:
    state = gateway_of(request)
    markup = state.settings.markup
    return PricingView(
        fees=FeeTable(default_percent=_percent(markup.default),
                      providers={k: _percent(v) for k, v in sorted(markup.providers.items())},
                      models={k: _percent(v) for k, v in sorted(markup.models.items())}),
        models=[PricedModel(id=model.id, name=model.name, kind=model.kind, strategy=model.strategy, routes=[
            PricedRoute(provider=route.provider.id, upstream_model=route.upstream_model,
                        fee_percent=_percent(markup.for_route(model.id, route.provider.id)),
                        pricing=route.price.as_usd_strings()) for route in model.routes])
            for model in sorted(state.models.all(), key=lambda m: m.id)])


@router.get("/providers", response_model=ProviderList)
async def providers(request: Request, _: AccountCaller = Depends(admin)) -> ProviderList:
    """Every configured provider (never its credentials) and the health of its routes."""
    state = gateway_of(request)
    health = route_statuses(state)
    return ProviderList(data=[ProviderView(
        id=provider.id, type=provider.config.type, region=provider.config.region, base_url=provider.config.base_url,
        models=sorted({m.id for m in state.models.all() if any(r.provider.id == provider.id for r in m.routes)}),
        routes=[row for row in health if row["provider"] == provider.id])
        for provider in sorted(state.providers.values(), key=lambda p: p.id)])


@router.get("/analytics", response_model=PlatformAnalytics)
async def analytics(request: Request,
                    start: str | None = Query(None, alias="from", description="First UTC day, YYYY-MM-DD; "
                                              "default: 29 days before `to`"),
                    end: str | None = Query(None, alias="to", description="Last UTC day (inclusive); default: today"),
                    top: int = Query(10, ge=1, le=100, description="How many models and providers to rank"),
                    _: AccountCaller = Depends(admin)) -> PlatformAnalytics:
    """Requests, spend and active accounts per UTC day across every account, and the models and providers
    that carried the most spend."""
    last = _day(end, "to") if end else utcnow().date()
    first = _day(start, "from") if start else date.fromordinal(max(1, last.toordinal() - 29))
    if first > last:
        raise bad_request("`from` is after `to`", param="from")
    if (last - first).days + 1 > MAX_ANALYTICS_DAYS:
        raise bad_request(f"at most {MAX_ANALYTICS_DAYS} days at a time", param="from")
    async with gateway_of(request).sessions() as session:
        days = await platform_days(session, first, last)
        active = await active_accounts(session, first, last)
        models = await leaders(session, first, last, "model", top)
        provider_rows = await leaders(session, first, last, "provider", top)
    return PlatformAnalytics(**{"from": first, "to": last}, requests=sum(d.requests for d in days),
                             spend_usd=units_to_usd_str(sum(d.cost_units for d in days)), active_accounts=active,
                             days=[DayFigures(day=d.day, requests=d.requests, failed_requests=d.failed_requests,
                                              spend_usd=units_to_usd_str(d.cost_units),
                                              active_accounts=d.active_accounts) for d in days],
                             top_models=[_leader(row) for row in models],
                             top_providers=[_leader(row) for row in provider_rows])


def _leader(row) -> LeaderView:
    return LeaderView(name=row.name, requests=row.requests, spend_usd=units_to_usd_str(row.cost_units))


def _percent(basis_points: int) -> str:
    whole, hundredths = divmod(abs(basis_points), 100)
    return f"{'-' if basis_points < 0 else ''}{whole}.{hundredths:02d}"


def _day(value: str, param: str) -> date:
    try:
        if not _DAY.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise bad_request(f"`{param}` must be a day, YYYY-MM-DD", param=param) from None
