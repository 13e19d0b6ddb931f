"""Account-scoped endpoints: the caller's own account, named by its Bearer API key.

Export (data portability) and deletion at the owner's request. Another account is never reachable:
there is no account id to give, the key decides.
"""

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ..accounts.deletion import delete_account
from ..accounts.export import export_account
from ..gateway.auth import Caller, authenticate
from ..gateway.errors import bad_request
from ..governance import audit
from ..store.db import flush_erased_data
from .admin_routes import actor_of

router = APIRouter(tags=["account"])


async def account_holder(request: Request) -> Caller:
    """Whoever holds a valid API key of the account acts for it."""
    return await authenticate(request, request.app.state.gateway.auth)


@router.get("/account/export", response_class=StreamingResponse)
async def export(request: Request, caller: Caller = Depends(account_holder)) -> StreamingResponse:
    """Everything AllToken holds about this account, as one JSON document (never secrets or hashes)."""
    state = request.app.state.gateway
    actor, address = actor_of(request, caller)
    async with state.sessions.begin() as session:
        await audit.record(session, actor, "account.export", caller.account.id, address=address)
    return StreamingResponse(export_account(state.sessions, caller.account.id), media_type="application/json",
                             headers={"content-disposition": f'attachment; filename="{caller.account.id}.json"'})


class DeleteRequest(BaseModel):
    confirm: str = Field(description="The account's id (acct_...), to show the deletion is meant")


class DeletionView(BaseModel):
    account_id: str
    deleted_at: datetime
    keys_revoked: int
    ledger_retention_days: float


@router.post("/account/delete", response_model=DeletionView)
async def delete(body: DeleteRequest, request: Request, caller: Caller = Depends(account_holder)) -> DeletionView:
    """Delete this account: keys revoked at once everywhere, personal data erased, usage anonymized;
    the ledger is kept for the legal retention period, then purged."""
    account_id = caller.account.id
    if body.confirm != account_id:
        raise bad_request(f"to delete this account, send \"confirm\": \"{account_id}\"", param="confirm")
    state = request.app.state.gateway
    actor, address = actor_of(request, caller)
    try:
        async with state.sessions.begin() as session:
            deletion = await delete_account(session, account_id)
            await audit.record(session, actor, "account.delete", account_id,
                               {"keys_revoked": len(deletion.key_ids)}, address)
    except ValueError as exc:  # an administrator's account
        raise bad_request(str(exc)) from None
    for key_id in deletion.key_ids:   # this process at once; the others through the change feed
        state.auth.drop_key(key_id)
    state.auth.drop_account(account_id)
    await flush_erased_data(state.engine)
    return DeletionView(account_id=account_id, deleted_at=deletion.deleted_at, keys_revoked=len(deletion.key_ids),
                        ledger_retention_days=state.settings.retention.ledger_days)
