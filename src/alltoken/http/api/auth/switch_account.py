"""/api/auth/switch-account: the signed-in session acts in another of its user's accounts from now on."""

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from alltoken.accounts import memberships, sessions
from alltoken.http.api.account.memberships import MembershipView, membership_view
from alltoken.http.api.audited import Audited
from alltoken.http.api.callers import SESSION_COOKIE, session_user
from alltoken.http.api.service_errors import service_errors
from alltoken.store.models import User

router = APIRouter(tags=["teams"])


class SwitchAccount(BaseModel):
    account_id: str = Field(max_length=40)


@router.post("/auth/switch-account", response_model=MembershipView)
async def switch_account(body: SwitchAccount, request: Request, audited: Audited,
                         signed_in: sessions.SignedIn = Depends(session_user)) -> MembershipView:
    """Act in another of the user's accounts from now on; an account they are not a member of is a 404."""
    async with audited.begin(f"user:{signed_in.user_id}") as tx:
        with service_errors():
            chosen = await memberships.membership(tx.session, await tx.session.get_one(User, signed_in.user_id),
                                                  body.account_id)
        await sessions.switch_account(tx.session, request.cookies[SESSION_COOKIE], chosen.account_id)
        await tx.audit("auth.switch_account", chosen.account_id, {"from": signed_in.account_id})
    return membership_view(chosen, chosen.account_id)
