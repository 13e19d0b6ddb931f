"""The caller's team: its members, their roles and spending limits (people join by invitation:
invitations.py).

The caller is a console session acting in the team, or a Bearer API key of the team (a key stands for its
member). Owners and admins (and the team's account-level key) change the team, but no one acts on a member
above them; who the owners are changes only by an owner's console session with a freshly confirmed password
(accounts/roles.py). Every other member may only read. A caller reaches the team it acts in only.
"""

from contextlib import contextmanager
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from alltoken.accounts import roles
from alltoken.accounts.roles import CONFIRMED, MANAGE, READ
from alltoken.accounts.team_views import MemberView, TeamView, member_view, team_view
from alltoken.accounts.teams import NotAllowed, get_team, member, members, remove_member, update_member
from alltoken.http.api.audited import Audited
from alltoken.http.api.callers import AccountCaller, authorize, requires
from alltoken.http.api.service_errors import service_errors
from alltoken.http.errors import bad_request, forbidden
from alltoken.http.gateway import gateway_of
from alltoken.ids import utcnow
from alltoken.runtime.budgets import member_spend
from alltoken.runtime.gateway import Gateway
from alltoken.runtime.loaders import member_record
from alltoken.store.models import TeamMember, User

router = APIRouter(prefix="/team", tags=["team"])

Role = Literal["owner", "admin", "developer", "billing", "viewer"]
Reset = Literal["daily", "weekly", "monthly"]
OWNER_ONLY = "owner_only"     # the code of a refusal to act on, or make, an owner


async def team_reader(request: Request, caller: AccountCaller = Depends(requires(READ))) -> AccountCaller:
    """Any member of the team (their role is read afresh, so a change applies at once)."""
    async with gateway_of(request).sessions() as session:
        with team_errors():
            await get_team(session, caller.account_id)
    return caller


async def team_manager(request: Request,
                       caller: AccountCaller = Depends(requires(MANAGE, code="team_admin_only"))) -> AccountCaller:
    return await team_reader(request, caller)


async def member_target(user_id: str, request: Request, caller: AccountCaller = Depends(team_manager)
                        ) -> tuple[AccountCaller, str]:
    """The manager and the role of the member they act on, who must not be above them (404: no such member)."""
    async with gateway_of(request).sessions() as session:
        with team_errors():
            target = await member(session, caller.account_id, user_id)
    if not roles.may_act_on(caller.role, target.role):
        raise forbidden("only a team owner may make, change or remove an owner", code=OWNER_ONLY)
    return caller, target.role


def check_ownership_change(caller: AccountCaller) -> None:
    """Making, demoting or removing an owner hands over (or takes) the whole account: an owner's console
    session, password confirmed."""
    authorize(caller, CONFIRMED, code=OWNER_ONLY)


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
async def get_team_view(request: Request, caller: AccountCaller = Depends(team_reader)) -> TeamView:
    """The team, its shared balance, and each member's role, limit and spend this period."""
    state = gateway_of(request)
    async with state.sessions() as session:
        account = await get_team(session, caller.account_id)
        rows = await members(session, caller.account_id)
    views = [await _member_view(state, caller.account_id, row, user) for row, user in rows]
    return team_view(account, await state.book.balance_units(caller.account_id), views)


@router.patch("/members/{user_id}", response_model=MemberView)
async def patch_member(user_id: str, changes: MemberChanges, request: Request, audited: Audited,
                       target: tuple[AccountCaller, str] = Depends(member_target)) -> MemberView:
    caller, target_role = target
    sent = changes.model_dump(include=changes.model_fields_set)
    if not sent:
        raise bad_request("nothing to change: send role, limit_usd or limit_reset")
    if "role" in sent and sent["role"] is None:
        raise bad_request("role cannot be null", param="role")
    if sent.get("role", target_role) != target_role and "owner" in (sent["role"], target_role):
        check_ownership_change(caller)
    state = gateway_of(request)
    with team_errors():
        async with audited.begin(caller.actor) as tx:
            row = await update_member(tx.session, caller.account_id, user_id, sent, acting_role=caller.role)
            user = await tx.session.get_one(User, user_id)
            await tx.audit("team.member_change", caller.account_id, {"user_id": user_id, **sent})
    return await _member_view(state, caller.account_id, row, user)


@router.delete("/members/{user_id}", response_model=Removed)
async def delete_member(user_id: str, audited: Audited,
                        target: tuple[AccountCaller, str] = Depends(member_target)) -> Removed:
    """Remove a member and revoke their keys in this team (refused for the last owner)."""
    caller, target_role = target
    if target_role == "owner":
        check_ownership_change(caller)
    with team_errors():
        async with audited.begin(caller.actor) as tx:
            revoked = await remove_member(tx.session, caller.account_id, user_id, acting_role=caller.role)
            await tx.audit("team.member_remove", caller.account_id, {"user_id": user_id, "revoked_keys": revoked})
    return Removed(user_id=user_id, revoked_keys=revoked)


async def _member_view(state: Gateway, account_id: str, row: TeamMember, user: User) -> MemberView:
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
            raise forbidden(str(exc), code=OWNER_ONLY) from None
