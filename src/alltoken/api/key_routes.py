"""An account makes itself another API key; it must have accepted the terms of service in effect."""

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, Field

from ..accounts import terms
from ..accounts.service import create_key
from ..billing.money import units_to_usd_str
from ..gateway.auth import Caller
from ..gateway.errors import bad_request, forbidden
from ..gateway.terms_gate import not_accepted_message
from ..governance import audit
from .account_routes import account_holder
from .admin_routes import actor_of

router = APIRouter(tags=["keys"])


class KeyCreate(BaseModel):
    name: str | None = Field(None, max_length=200)
    limit_usd: str | None = Field(None, description="Spending limit, a USD decimal string")
    limit_reset: Literal["daily", "weekly", "monthly"] | None = None
    models: list[str] | None = Field(None, description="Model ids the key may use")
    expires_at: AwareDatetime | None = None
    accept_terms: bool = Field(False, description="Accept the terms of service in effect, if this account has not")


class KeyCreated(BaseModel):
    id: str
    key: str = Field(description="The secret: shown only this once")
    account_id: str
    name: str | None
    limit_usd: str | None
    limit_reset: str | None
    models: list[str] | None
    expires_at: datetime | None
    terms_accepted: str | None = Field(description="The terms version accepted with this request, if any")


@router.post("/keys", response_model=KeyCreated, status_code=201)
async def create(body: KeyCreate, request: Request, caller: Caller = Depends(account_holder)) -> KeyCreated:
    state = request.app.state.gateway
    account_id = caller.account.id
    actor, address = actor_of(request, caller)
    try:
        async with state.sessions.begin() as session:
            accepted = None if caller.account.is_admin else await terms.require_current(
                session, account_id, body.accept_terms)
            new = await create_key(session, account_id, name=body.name, limit_usd=body.limit_usd, models=body.models,
                                   expires_at=body.expires_at, limit_reset=body.limit_reset)
            if accepted is not None:
                await audit.record(session, actor, "terms.accept", account_id, {"version": accepted.version}, address)
            await audit.record(session, actor, "keys.create", account_id, {"key_id": new.row.id}, address)
    except terms.TermsNotAccepted as refused:
        raise forbidden(not_accepted_message(refused.version, account_id, refused.url)
                        + ' Or send "accept_terms": true with this request.', code="terms_not_accepted") from None
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    if accepted is not None:
        state.auth.drop_account(account_id)
    row = new.row
    return KeyCreated(id=row.id, key=new.secret, account_id=account_id, name=row.name,
                      limit_usd=units_to_usd_str(row.limit_units) if row.limit_units is not None else None,
                      limit_reset=row.limit_reset, models=row.models, expires_at=row.expires_at,
                      terms_accepted=accepted.version if accepted else None)
