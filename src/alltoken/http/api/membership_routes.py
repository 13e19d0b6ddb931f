"""The accounts a signed-in user acts in: list them, switch the session to one, create a team.

A session acts in one account at a time (its own personal account at sign-in); every account-scoped
endpoint then works on that account with the user's role in it.
"""

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from alltoken import audit
from alltoken.accounts import memberships, sessions, terms
from alltoken.accounts.teams import create_team
from alltoken.http.api.callers import SESSION_COOKIE, session_user
from alltoken.http.api.service_errors import service_errors
from alltoken.http.client_address import client_address
from alltoken.store.models import User

router = APIRouter(tags=["teams"])


class MembershipView(BaseModel):
    account_id: str
    name: str | None
    kind: str = Field(description="personal | team")
    role: str = Field(description="The user's role in it: owner of their personal account")
    active: bool = Field(description="The session acts in this account now")


class SwitchAccount(BaseModel):
    account_id: str = Field(max_length=40)


class NewTeam(BaseModel):
    name: str = Field(min_length=1, max_length=200)


@router.get("/account/memberships", response_model=list[MembershipView])
async def list_memberships(request: Request, signed_in: sessions.SignedIn = Depends(session_user)
                           ) -> list[MembershipView]:
    """Every account this user may act in, with their role; the session's active one is marked."""
    async with request.app.state.gateway.sessions() as session:
        found = await memberships.memberships(session, await session.get(User, signed_in.user_id))
    return [_view(item, signed_in.account_id) for item in found]


@router.post("/auth/switch-account", response_model=MembershipView)
async def switch_account(body: SwitchAccount, request: Request,
                         signed_in: sessions.SignedIn = Depends(session_user)) -> MembershipView:
    """Act in another of the user's accounts from now on; an account they are not a member of is a 404."""
    async with request.app.state.gateway.sessions.begin() as session:
        with service_errors():
            chosen = await memberships.membership(session, await session.get(User, signed_in.user_id),
                                                  body.account_id)
        await sessions.switch_account(session, request.cookies[SESSION_COOKIE], chosen.account_id)
        await audit.record(session, f"user:{signed_in.user_id}", "auth.switch_account", chosen.account_id,
                           {"from": signed_in.account_id}, client_address(request))
    return _view(chosen, chosen.account_id)


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


def _view(item: memberships.Membership, active_id: str) -> MembershipView:
    return MembershipView(account_id=item.account_id, name=item.name, kind=item.kind, role=item.role,
                          active=item.account_id == active_id)
