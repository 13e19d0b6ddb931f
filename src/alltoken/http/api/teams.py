"""/api/teams: a signed-in user creates a team, as its owner, and the session switches to it."""

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from alltoken.accounts import sessions, terms
from alltoken.accounts.teams import create_team
from alltoken.http.api.account.memberships import MembershipView
from alltoken.http.api.audited import Audited
from alltoken.http.api.callers import SESSION_COOKIE, session_user
from alltoken.http.api.service_errors import service_errors
from alltoken.store.models import User

router = APIRouter(tags=["teams"])


class NewTeam(BaseModel):
    name: str = Field(min_length=1, max_length=200)


@router.post("/teams", response_model=MembershipView, status_code=201)
async def new_team(body: NewTeam, request: Request, audited: Audited,
                   signed_in: sessions.SignedIn = Depends(session_user)) -> MembershipView:
    """Create a team with the signed-in user as its owner, and switch the session to it. The team
    accepts the terms in effect if its owner's own account has accepted them."""
    async with audited.begin(f"user:{signed_in.user_id}") as tx:
        user = await tx.session.get_one(User, signed_in.user_id)
        with service_errors():
            account, _ = await create_team(tx.session, body.name, user.email)
        await tx.audit("teams.create", account.id, {"owner": user.id})
        current = await terms.current_version(tx.session)
        if current is not None and await terms.accepts_current(tx.session, user.account_id):
            accepted = await terms.accept(tx.session, account.id)
            await tx.audit("terms.accept", account.id, {"version": accepted.version})
        await sessions.switch_account(tx.session, request.cookies[SESSION_COOKIE], account.id)
        await tx.audit("auth.switch_account", account.id, {"from": signed_in.account_id})
    return MembershipView(account_id=account.id, name=account.name, kind=account.kind, role="owner", active=True)
