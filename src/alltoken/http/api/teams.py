"""/api/teams: a signed-in user creates a team, as its owner, and the session switches to it."""

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from alltoken import audit
from alltoken.accounts import sessions, terms
from alltoken.accounts.teams import create_team
from alltoken.http.api.account.memberships import MembershipView
from alltoken.http.api.callers import SESSION_COOKIE, session_user
from alltoken.http.api.service_errors import service_errors
from alltoken.http.client_address import client_address
from alltoken.store.models import User

router = APIRouter(tags=["teams"])


class NewTeam(BaseModel):
    name: str = Field(min_length=1, max_length=200)


@router.post("/teams", response_model=MembershipView, status_code=201)
async def new_team(body: NewTeam, request: Request, signed_in: sessions.SignedIn = Depends(session_user)
                   ) -> MembershipView:
    """Create a team with the signed-in user as its owner, and switch the session to it. The team
    accepts the terms in effect if its owner's own account has accepted them."""
    async with request.app.state.gateway.sessions.begin() as session:
        user = await session.get(User, signed_in.user_id)
        with service_errors():
            account, _ = await create_team(session, body.name, user.email)
        actor, address = f"user:{user.id}", client_address(request)
        await audit.record(session, actor, "teams.create", account.id, {"owner": user.id}, address)
        if await terms.current_version(session) is not None and await terms.accepts_current(session, user.account_id):
            accepted = await terms.accept(session, account.id)
            await audit.record(session, actor, "terms.accept", account.id, {"version": accepted.version}, address)
        await sessions.switch_account(session, request.cookies[SESSION_COOKIE], account.id)
        await audit.record(session, actor, "auth.switch_account", account.id, {"from": signed_in.account_id},
                           address)
    return MembershipView(account_id=account.id, name=account.name, kind=account.kind, role="owner", active=True)
