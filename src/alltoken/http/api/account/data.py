"""Account-scoped endpoints: the caller's own account, named by its console session.

Export (data portability) and deletion at the owner's request: both need the owner signed in to the console
with a freshly confirmed password, never a key (accounts/roles.py, CONFIRMED). Another account is never
reachable: there is no account id to give, the session decides.
"""

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from alltoken.accounts import sessions
from alltoken.accounts.export import export_account
from alltoken.errors import Conflict
from alltoken.governance.deletion import delete_account
from alltoken.http.api.audited import Audited
from alltoken.http.api.callers import SESSION_COOKIE, AccountCaller, ConfirmedOwnerScope
from alltoken.http.errors import bad_request
from alltoken.http.gateway import gateway_of
from alltoken.store.db import flush_erased_data
from alltoken.store.models import User

router = APIRouter(tags=["account"])


@router.get("/account/export", response_class=StreamingResponse)
async def export(request: Request, caller: ConfirmedOwnerScope, audited: Audited) -> StreamingResponse:
    """Everything AllToken holds about this account, as one JSON document (never secrets or hashes)."""
    state = gateway_of(request)
    async with audited.begin(caller.actor) as tx:
        await tx.audit("account.export", caller.account_id)
    return StreamingResponse(export_account(state.sessions, caller.account_id), media_type="application/json",
                             headers={"content-disposition": f'attachment; filename="{caller.account_id}.json"'})


class DeleteRequest(BaseModel):
    confirm: str = Field(max_length=100, description="The account's id (acct_...), to show the deletion is meant")


class DeletionView(BaseModel):
    account_id: str
    deleted_at: datetime
    keys_revoked: int
    ledger_retention_days: float


@router.post("/account/delete", response_model=DeletionView)
async def delete(body: DeleteRequest, request: Request, caller: ConfirmedOwnerScope, audited: Audited) -> DeletionView:
    """Delete this account: keys revoked at once everywhere, personal data erased, usage anonymized;
    the ledger is kept for the legal retention period, then purged. A team's owner deletes the team, and
    their session goes back to their own account."""
    account_id = caller.account_id
    if body.confirm != account_id:
        raise bad_request(f"to delete this account, send \"confirm\": \"{account_id}\"", param="confirm")
    state = gateway_of(request)
    try:
        async with audited.begin(caller.actor) as tx:
            deletion = await delete_account(tx.session, account_id)
            await tx.audit("account.delete", account_id, {"keys_revoked": len(deletion.key_ids)})
            await _leave_deleted_team(tx.session, request, caller)
    except (ValueError, Conflict) as exc:  # an administrator's account; deleted a moment ago
        raise bad_request(str(exc)) from None
    for key_id in deletion.key_ids:   # this process at once; the others through the change feed
        state.auth.drop_key(key_id)
    state.auth.drop_account(account_id)
    await flush_erased_data(state.engine)
    return DeletionView(account_id=account_id, deleted_at=deletion.deleted_at, keys_revoked=len(deletion.key_ids),
                        ledger_retention_days=state.settings.retention.ledger_days)


async def _leave_deleted_team(session, request: Request, caller: AccountCaller) -> None:
    """A session that deleted a team acts in its user's own account from now on (deleting one's own account
    ends its sessions)."""
    user = await session.get_one(User, caller.console_session.user_id)
    if user.account_id != caller.account_id:
        await sessions.switch_account(session, request.cookies[SESSION_COOKIE], user.account_id)
