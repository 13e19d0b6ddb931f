"""Admin endpoints for accounts and keys: enforcement states and their history, model
restrictions, and any account's keys. Every change is audited in its own transaction."""

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from alltoken.governance.enforcement import State, describe_action, history, set_state
from alltoken.governance.model_restrictions import clear, restrict, restrictions
from alltoken.http.api import key_actions
from alltoken.http.api.audited import Audited
from alltoken.http.api.callers import AccountCaller, admin
from alltoken.http.api.key_actions import CreatedKey, KeyCreate, KeyView, RevokedKeys, Rotation
from alltoken.http.api.service_errors import service_errors
from alltoken.http.gateway import gateway_of

router = APIRouter(prefix="/admin", tags=["admin"])

# The audit log names an API change like the CLI command that does the same.
_STATE_ACTIONS = {"active": "accounts.activate", "warned": "accounts.warn", "rate_limited": "accounts.rate-limit",
                  "suspended": "accounts.suspend", "terminated": "accounts.terminate"}


class EnforcementChange(BaseModel):
    state: State
    reason: str = Field(min_length=1, max_length=2000, description="Why; the account is told it")


class EnforcementView(BaseModel):
    id: int
    at: datetime
    state: str
    previous_state: str
    reason: str
    actor: str


class Restrictions(BaseModel):
    """Per dimension an allow-list or a deny-list (not both); null for no rule."""
    allow_models: list[str] | None = None
    deny_models: list[str] | None = None
    allow_providers: list[str] | None = None
    deny_providers: list[str] | None = None


@router.post("/accounts/{account_id}/enforcement", response_model=EnforcementView)
async def change_enforcement(account_id: str, change: EnforcementChange, request: Request, audited: Audited,
                             caller: AccountCaller = Depends(admin)) -> EnforcementView:
    """Set the account's state; every process applies it within a second. `terminated` is final."""
    async with audited.begin(caller.actor) as tx:
        with service_errors():
            action = await set_state(tx.session, account_id, change.state, change.reason, caller.actor)
        await tx.audit(_STATE_ACTIONS[change.state], account_id, {"reason": action.reason})
    _applied(request, account_id)
    return EnforcementView(**describe_action(action))


@router.get("/accounts/{account_id}/enforcement", response_model=list[EnforcementView])
async def enforcement_history(account_id: str, request: Request,
                              _: AccountCaller = Depends(admin)) -> list[EnforcementView]:
    """Every change of the account's state, oldest first."""
    async with gateway_of(request).sessions() as session:
        with service_errors():
            return [EnforcementView(**describe_action(action)) for action in await history(session, account_id)]


@router.get("/accounts/{account_id}/model-restrictions", response_model=Restrictions)
async def get_restrictions(account_id: str, request: Request, _: AccountCaller = Depends(admin)) -> Restrictions:
    async with gateway_of(request).sessions() as session:
        with service_errors():
            return Restrictions(**await restrictions(session, account_id))


@router.put("/accounts/{account_id}/model-restrictions", response_model=Restrictions)
async def put_restrictions(account_id: str, body: Restrictions, request: Request, audited: Audited,
                           caller: AccountCaller = Depends(admin)) -> Restrictions:
    """Replace the account's restrictions; every process applies them within a second."""
    async with audited.begin(caller.actor) as tx:
        with service_errors():
            lists = await restrict(tx.session, account_id, body.model_dump(), caller.actor, replace=True)
        await tx.audit("models.restrict", account_id, {name: ids for name, ids in lists.items() if ids})
    _applied(request, account_id)
    return Restrictions(**lists)


@router.delete("/accounts/{account_id}/model-restrictions", status_code=204)
async def delete_restrictions(account_id: str, request: Request, audited: Audited,
                              caller: AccountCaller = Depends(admin)) -> Response:
    async with audited.begin(caller.actor) as tx:
        with service_errors():
            await clear(tx.session, account_id)
        await tx.audit("models.restrict", account_id, {"clear": True})
    _applied(request, account_id)
    return Response(status_code=204)


def _applied(request: Request, account_id: str) -> None:
    """This process applies the change at once; the others within a poll of the change feed."""
    gateway_of(request).auth.drop_account(account_id)


@router.get("/accounts/{account_id}/keys", response_model=list[KeyView])
async def account_keys(account_id: str, request: Request, _: AccountCaller = Depends(admin)) -> list[KeyView]:
    return await key_actions.list_keys(gateway_of(request), account_id)


@router.post("/accounts/{account_id}/keys", response_model=CreatedKey, status_code=201)
async def create_key(account_id: str, spec: KeyCreate, request: Request, audited: Audited,
                     caller: AccountCaller = Depends(admin)) -> CreatedKey:
    return await key_actions.create(gateway_of(request), audited, caller.actor, account_id, spec)


@router.post("/accounts/{account_id}/keys/revoke-all", response_model=RevokedKeys)
async def revoke_all(account_id: str, request: Request, audited: Audited,
                     caller: AccountCaller = Depends(admin)) -> RevokedKeys:
    """Revoke every key of a compromised account."""
    return await key_actions.revoke_all(gateway_of(request), audited, caller.actor, account_id)


@router.get("/keys/{key_id}", response_model=KeyView)
async def show_key(key_id: str, request: Request, _: AccountCaller = Depends(admin)) -> KeyView:
    return await key_actions.show_key(gateway_of(request), key_id)


@router.post("/keys/{key_id}/rotate", response_model=CreatedKey)
async def rotate_key(key_id: str, request: Request, audited: Audited, rotation: Rotation | None = None,
                     caller: AccountCaller = Depends(admin)) -> CreatedKey:
    return await key_actions.rotate(gateway_of(request), audited, caller.actor, key_id,
                                    rotation or Rotation())


@router.post("/keys/{key_id}/revoke", response_model=KeyView)
async def revoke_key(key_id: str, request: Request, audited: Audited,
                     caller: AccountCaller = Depends(admin)) -> KeyView:
    return await key_actions.revoke(gateway_of(request), audited, caller.actor, key_id)
