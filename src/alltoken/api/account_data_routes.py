"""Account-scoped endpoints: the caller's own account, named by its console session or API key.

Export (data portability) and deletion at the owner's request. Another account is never reachable:
there is no account id to give, the session or key decides.
"""

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ..accounts import passwords
from ..accounts.deletion import delete_account
from ..accounts.export import export_account
from ..accounts.service import Conflict
from ..gateway.client_address import client_address
from ..gateway.errors import bad_request, forbidden
from ..governance import audit
from ..store.db import flush_erased_data
from ..store.models import User
from .callers import AccountCaller, AccountScope, ManageScope

router = APIRouter(tags=["account"])


@router.get("/account/export", response_class=StreamingResponse)
async def export(request: Request, caller: ManageScope) -> StreamingResponse:
    """Everything AllToken holds about this account, as one JSON document (never secrets or hashes)."""
    state = request.app.state.gateway
    async with state.sessions.begin() as session:
        await audit.record(session, caller.actor, "account.export", caller.account_id,
                           address=client_address(request))
    return StreamingResponse(export_account(state.sessions, caller.account_id), media_type="application/json",
                             headers={"content-disposition": f'attachment; filename="{caller.account_id}.json"'})


class DeleteRequest(BaseModel):
    confirm: str = Field(max_length=100, description="The account's id (acct_...), to show the deletion is meant")
    password: str | None = Field(None, max_length=passwords.MAX_LENGTH,
                                 description="From the console: the signed-in user's password, asked again")


class DeletionView(BaseModel):
    account_id: str
    deleted_at: datetime
    keys_revoked: int
    ledger_retention_days: float


@router.post("/account/delete", response_model=DeletionView)
async def delete(body: DeleteRequest, request: Request, caller: AccountScope) -> DeletionView:
    """Delete this account: keys revoked at once everywhere, personal data erased, usage anonymized;
    the ledger is kept for the legal retention period, then purged. From a console session the user's
    password is asked again, and only for the user's own account."""
    account_id = caller.account_id
    if body.confirm != account_id:
        raise bad_request(f"to delete this account, send \"confirm\": \"{account_id}\"", param="confirm")
    state = request.app.state.gateway
    try:
        async with state.sessions.begin() as session:
            await _check_signed_in_owner(session, caller, body.password)
            deletion = await delete_account(session, account_id)
            await audit.record(session, caller.actor, "account.delete", account_id,
                               {"keys_revoked": len(deletion.key_ids)}, client_address(request))
    except (ValueError, Conflict) as exc:  # an administrator's account; deleted a moment ago
        raise bad_request(str(exc)) from None
    for key_id in deletion.key_ids:   # this process at once; the others through the change feed
        state.auth.drop_key(key_id)
    state.auth.drop_account(account_id)
    await flush_erased_data(state.engine)
    return DeletionView(account_id=account_id, deleted_at=deletion.deleted_at, keys_revoked=len(deletion.key_ids),
                        ledger_retention_days=state.settings.retention.ledger_days)


async def _check_signed_in_owner(session, caller: AccountCaller, password: str | None) -> None:
    """A session proves less than a key (a browser left open): the password again, and the user's own account
    (not a team the session acts on)."""
    if caller.signed_in is None:
        return
    user = await session.get(User, caller.signed_in.user_id)
    if user.account_id != caller.account_id:
        raise forbidden("only the account's own user may delete it; this session acts on a team",
                        code="not_account_owner")
    if not passwords.verify(user.password_hash, password or ""):
        raise bad_request("the password is wrong: type your password to delete the account", param="password",
                          code="wrong_credentials")
