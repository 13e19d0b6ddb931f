"""Admin endpoints for rate limits: an account's tier and limits (also per model), a key's limits.
Read, replace, clear; every change is audited and reaches every running process within a second."""

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from alltoken.config.rate_limits import Limits
from alltoken.errors import NotFound
from alltoken.http.api.audited import Audited, Change
from alltoken.http.api.callers import AccountCaller, admin
from alltoken.http.errors import bad_request, not_found
from alltoken.http.gateway import gateway_of
from alltoken.limits import overrides
from alltoken.limits.policy import Overrides

router = APIRouter(prefix="/admin", tags=["admin"])


class LimitValues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(None, ge=1, description="Requests per minute")
    tpm: int | None = Field(None, ge=1, description="Tokens per minute, input and output")
    concurrency: int | None = Field(None, ge=1, description="Requests at the same time")


class AccountLimitsUpdate(LimitValues):
    tier: str | None = Field(None, description="A tier of the config file's rate_limits.tiers")
    models: dict[str, LimitValues] = Field(default_factory=dict, description="The account's limits per model id")


class AccountOverridesView(LimitValues):
    models: dict[str, LimitValues]


class AccountLimitsInForce(BaseModel):
    account: LimitValues
    key: LimitValues = Field(description="Each key's, unless the key has its own")
    models: dict[str, LimitValues]


class AccountLimitsView(BaseModel):
    account_id: str
    tier: str | None = Field(description="The tier set for the account (null: the default tier)")
    effective_tier: str | None
    overrides: AccountOverridesView
    limits: AccountLimitsInForce = Field(description="In force now: tier, overrides and account state applied")


class KeyLimitsView(BaseModel):
    key_id: str
    account_id: str
    overrides: LimitValues
    limits: LimitValues = Field(description="In force now: the key's own, else its account's tier")


@router.get("/accounts/{account_id}/rate-limits", response_model=AccountLimitsView)
async def get_account_limits(account_id: str, request: Request, _: AccountCaller = Depends(admin)) -> dict:
    return await _view(request, "account", account_id)


@router.put("/accounts/{account_id}/rate-limits", response_model=AccountLimitsView)
async def put_account_limits(account_id: str, update: AccountLimitsUpdate, request: Request, audited: Audited,
                             caller: AccountCaller = Depends(admin)) -> dict:
    """Replace the account's tier and limits; what is left out comes from the tier."""
    models = {model: _limits(values) for model, values in update.models.items()}
    wanted = Overrides(update.tier, _limits(update), models)
    return await _store(request, audited, caller.actor, "account", account_id, wanted,
                        update.model_dump(exclude_none=True))


@router.delete("/accounts/{account_id}/rate-limits", status_code=204)
async def delete_account_limits(account_id: str, request: Request, audited: Audited,
                                caller: AccountCaller = Depends(admin)) -> Response:
    """Back to the default tier and its limits."""
    await _store(request, audited, caller.actor, "account", account_id, Overrides(), None)
    return Response(status_code=204)


@router.get("/keys/{key_id}/rate-limits", response_model=KeyLimitsView)
async def get_key_limits(key_id: str, request: Request, _: AccountCaller = Depends(admin)) -> dict:
    return await _view(request, "key", key_id)


@router.put("/keys/{key_id}/rate-limits", response_model=KeyLimitsView)
async def put_key_limits(key_id: str, update: LimitValues, request: Request, audited: Audited,
                         caller: AccountCaller = Depends(admin)) -> dict:
    """Replace the key's own limits; what is left out comes from its account's tier."""
    wanted = Overrides(limits=_limits(update))
    return await _store(request, audited, caller.actor, "key", key_id, wanted,
                        update.model_dump(exclude_none=True))


@router.delete("/keys/{key_id}/rate-limits", status_code=204)
async def delete_key_limits(key_id: str, request: Request, audited: Audited,
                            caller: AccountCaller = Depends(admin)) -> Response:
    await _store(request, audited, caller.actor, "key", key_id, Overrides(), None)
    return Response(status_code=204)


def _limits(values: LimitValues) -> Limits:
    return Limits(values.rpm, values.tpm, values.concurrency)


async def _view(request: Request, kind: str, subject_id: str) -> dict:
    state = gateway_of(request)
    async with state.sessions() as session:
        try:
            return await overrides.view(session, state.settings.rate_limits, kind, subject_id)
        except NotFound as exc:
            raise not_found(str(exc)) from None


async def _store(request: Request, audited: Change, actor: str, kind: str, subject_id: str, wanted: Overrides,
                 details: dict | None) -> dict:
    state = gateway_of(request)
    try:
        async with audited.begin(actor) as tx:
            shown = await overrides.store(tx.session, state.settings.rate_limits, kind, subject_id, wanted)
            await tx.audit("limits.set" if details is not None else "limits.clear", subject_id, details)
    except NotFound as exc:
        raise not_found(str(exc)) from None
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    # This process at once; the others through the change feed.
    if kind == "key":
        state.auth.drop_key(subject_id)
    else:
        state.auth.drop_account(subject_id)
    return shown
