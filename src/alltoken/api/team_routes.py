"""The caller's team: its members, their roles and spending limits.

The caller is a console session acting in the team, or a Bearer API key of the team (a key stands for
its owner). A member with the role owner or admin, or the team's own account-level key (one that
belongs to no member), may change the team; every other member may only read it. A caller reaches
the team it acts in only.
"""

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from ..accounts.roles import MANAGE, READ
from ..accounts.teams import NotAllowed, add_member, get_team, members, remove_member, update_member
from ..gateway.budgets import member_spend
from ..gateway.client_address import client_address
from ..gateway.errors import bad_request, forbidden
from ..gateway.loaders import member_record
from ..governance import audit
from ..ids import utcnow
from ..store.models import TeamMember, User
from .callers import AccountCaller, requires
from .service_errors import service_errors
from .team_views import MemberView, TeamView, member_view, team_view

router = APIRouter(prefix="/team", tags=["team"])

Role = Literal["owner", "admin", "developer", "billing", "viewer"]
Reset = Literal["daily", "weekly", "monthly"]


@dataclass(frozen=True)
class Actor:
    account_id: str
    role: str | None    # the calling member's role; None for the team's account-level key
    name: str           # how the audit log names the caller


async def team_reader(request: Request, caller: AccountCaller = Depends(requires(READ))) -> Actor:
    """Any member of the team (their role is read afresh, so a change applies at once)."""
    async with request.app.state.gateway.sessions() as session:
        with team_errors():
            await get_team(session, caller.account_id)
    return Actor(caller.account_id, caller.role, caller.actor)


async def team_manager(request: Request,
                       caller: AccountCaller = Depends(requires(MANAGE, code="team_admin_only"))) -> Actor:
    return await team_reader(request, caller)


class NewMember(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(description="An existing user's email")
    role: Role
    limit_usd: str | None = Field(None, description="The member's own spending limit, USD as a decimal string")
    limit_reset: Reset | None = Field(None, description="Start the limit afresh every UTC day, ISO week or month")


class MemberChanges(BaseModel):
    """Only the fields sent change; `limit_usd: null` removes the member's limit."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    limit_usd: str | None = None
    limit_reset: Reset | None = None


class Removed(BaseModel):
    user_id: str
    revoked_keys: list[str] = Field(description="The member's keys in this team, revoked with the membership")


@router.get("", response_model=TeamView)
async def get_team_view(request: Request, actor: Actor = Depends(team_reader)) -> TeamView:
    """The team, its shared balance, and each member's role, limit and spend this period."""
    state = request.app.state.gateway
    async with state.sessions() as session:
        account = await get_team(session, actor.account_id)
        rows = await members(session, actor.account_id)
    views = [await _member_view(state, actor.account_id, row, user) for row, user in rows]
    return team_view(account, await state.book.balance_units(actor.account_id), views)


@router.post("/members", response_model=MemberView, status_code=201)
async def post_member(new: NewMember, request: Request, actor: Actor = Depends(team_manager)) -> MemberView:
    state = request.app.state.gateway
    with team_errors():
        async with state.sessions.begin() as session:
            row, user = await add_member(session, actor.account_id, new.email, new.role, new.limit_usd,
                                         new.limit_reset, acting_role=actor.role)
            await audit.record(session, actor.name, "team.member_add", actor.account_id,
                               {"user_id": user.id, "role": row.role, "limit_usd": new.limit_usd},
                               client_address(request))
    return await _member_view(state, actor.account_id, row, user)


@router.patch("/members/{user_id}", response_model=MemberView)
async def patch_member(user_id: str, changes: MemberChanges, request: Request,
                       actor: Actor = Depends(team_manager)) -> MemberView:
    sent = changes.model_dump(include=changes.model_fields_set)
    if not sent:
        raise bad_request("nothing to change: send role, limit_usd or limit_reset")
    if "role" in sent and sent["role"] is None:
        raise bad_request("role cannot be null", param="role")
    state = request.app.state.gateway
    with team_errors():
        async with state.sessions.begin() as session:
            row = await update_member(session, actor.account_id, user_id, sent, acting_role=actor.role)
            user = await session.get(User, user_id)
            await audit.record(session, actor.name, "team.member_change", actor.account_id,
                               {"user_id": user_id, **sent}, client_address(request))
    return await _member_view(state, actor.account_id, row, user)


@router.delete("/members/{user_id}", response_model=Removed)
async def delete_member(user_id: str, request: Request, actor: Actor = Depends(team_manager)) -> Removed:
    """Remove a member and revoke their keys in this team (refused for the last owner)."""
    with team_errors():
        async with request.app.state.gateway.sessions.begin() as session:
            revoked = await remove_member(session, actor.account_id, user_id, acting_role=actor.role)
            await audit.record(session, actor.name, "team.member_remove", actor.account_id,
                               {"user_id": user_id, "revoked_keys": revoked}, client_address(request))
    return Removed(user_id=user_id, revoked_keys=revoked)


async def _member_view(state, account_id: str, row: TeamMember, user: User) -> MemberView:
    now = utcnow()
    spent, since = await member_spend(state, account_id, member_record(row), now)
    return member_view(row, user, spent, since, now)


@contextmanager
def team_errors():
    """The team service's refusals as the API's 4xx errors: the common ones, and only-an-owner-may (403)."""
    with service_errors():
        try:
            yield
        except NotAllowed as exc:
            raise forbidden(str(exc), code="owner_only") from None
