"""The account's own routing policy: which providers and regions may serve it. It wins over each request's
`provider` preferences. Written through the same code as `alltoken accounts routing`, so every server
process picks it up from the change feed, and audited under the same action."""

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from alltoken.accounts.service import get_account, set_routing_policy
from alltoken.http.api.audited import Audited
from alltoken.http.api.callers import AccountScope
from alltoken.http.errors import bad_request
from alltoken.http.gateway import gateway_of

router = APIRouter(prefix="/account", tags=["account"])

Names = Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=100)] | None


class RoutingUpdate(BaseModel):
    allow_providers: Names = Field(None, description="Only these provider ids may serve the "
                                   "account; null or empty: any provider")
    deny_providers: Names = Field(None, description="Provider ids that must never serve it")
    allow_regions: Names = Field(None, description="Only providers in these regions (a "
                                 "provider's configured `region`, e.g. eu); null or empty: any region")
    deny_regions: Names = Field(None, description="Regions that must never serve it")


class ConfiguredProvider(BaseModel):
    id: str
    region: str | None


class RoutingView(BaseModel):
    allow_providers: list[str] | None
    deny_providers: list[str]
    allow_regions: list[str] | None
    deny_regions: list[str]
    providers: list[ConfiguredProvider] = Field(description="The providers this server has, with their regions")


@router.get("/routing", response_model=RoutingView)
async def get_routing(request: Request, caller: AccountScope) -> RoutingView:
    """The account's routing policy (no policy: every field empty or null) and the providers it can name."""
    async with gateway_of(request).sessions() as session:
        account = await get_account(session, caller.account_id)
        return _view(request, account.routing_policy)


@router.put("/routing", response_model=RoutingView)
async def put_routing(update: RoutingUpdate, request: Request, caller: AccountScope, audited: Audited) -> RoutingView:
    """Replace the policy; every field empty or null removes it. Unknown provider ids are refused."""
    state = gateway_of(request)
    policy = _policy(update, set(state.providers))
    async with audited.begin(caller.actor) as tx:
        account = await set_routing_policy(tx.session, caller.account_id, policy)
        await tx.audit("accounts.routing", caller.account_id, {"routing_policy": policy})
        saved = account.routing_policy
    state.auth.drop_account(caller.account_id)   # this process at once; the others through the change feed
    return _view(request, saved)


def _policy(update: RoutingUpdate, known_providers: set[str]) -> dict | None:
    """The stored form, as the CLI writes it: only the non-empty lists; None when all are empty."""
    policy = {}
    for name, values in update.model_dump().items():
        cleaned = sorted({value.strip() for value in values or () if value.strip()})
        if name.endswith("_providers") and (unknown := [value for value in cleaned if value not in known_providers]):
            raise bad_request(f"{name}: no provider {', '.join(map(repr, unknown))} on this server; "
                              f"the providers are {', '.join(sorted(known_providers))}", param=name)
        if cleaned:
            policy[name] = cleaned
    return policy or None


def _view(request: Request, policy: dict | None) -> RoutingView:
    policy = policy or {}
    providers = gateway_of(request).providers.values()
    return RoutingView(allow_providers=policy.get("allow_providers"), deny_providers=policy.get("deny_providers", []),
                       allow_regions=policy.get("allow_regions"), deny_regions=policy.get("deny_regions", []),
                       providers=[ConfiguredProvider(id=p.id, region=p.config.region) for p in providers])
