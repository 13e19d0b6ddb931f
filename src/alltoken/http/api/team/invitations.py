"""/api/team/invitations: invitations to the caller's team by email, the only way into a team through the API.
Managers send, list and cancel them; the invited person accepts with the emailed link's token once signed in
with the invited address (invitations.py; docs/management-api.md). Sending one answers the same whether or not
the address has an account, so it tells no one who is registered."""

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from alltoken.accounts import invitations
from alltoken.accounts.teams import get_team
from alltoken.http.api.audited import Audited
from alltoken.http.api.callers import AccountCaller
from alltoken.http.api.team.members import Reset, Role, check_ownership_change, team_errors, team_manager
from alltoken.http.gateway import gateway_of
from alltoken.money import units_to_usd_str
from alltoken.notifications.invitation_email import send_invitation
from alltoken.store.models import TeamInvitation

router = APIRouter(tags=["team"])


class NewInvitation(BaseModel):
    email: str = Field(max_length=320)
    role: Role
    limit_usd: str | None = Field(None, description="The member's own spending limit, USD as a decimal string")
    limit_reset: Reset | None = None


class InvitationView(BaseModel):
    id: str
    email: str
    role: str
    limit_usd: str | None
    limit_reset: str | None
    invited_by: str
    created_at: datetime
    expires_at: datetime


class SentInvitation(InvitationView):
    emailed: bool = Field(description="The email went out; false without SMTP or when sending failed")
    accept_url: str | None = Field(None, description="Only when not emailed: the link to pass on yourself (it "
                                                     "works only for the invited address)")


@router.post("/team/invitations", response_model=SentInvitation, status_code=201)
async def post_invitation(body: NewInvitation, request: Request, audited: Audited,
                          caller: AccountCaller = Depends(team_manager)) -> SentInvitation:
    """Invite someone by email (they need no account yet): the email carries a single-use link valid 7 days.
    Inviting an owner is making one: an owner's console session, password confirmed."""
    if body.role == "owner":
        check_ownership_change(caller)
    state = gateway_of(request)
    with team_errors():
        async with audited.begin(caller.actor) as tx:
            team = await get_team(tx.session, caller.account_id)
            row, token = await invitations.invite(tx.session, caller.account_id, body.email, body.role,
                                                  body.limit_usd, body.limit_reset, invited_by=caller.actor,
                                                  acting_role=caller.role)
            await tx.audit("team.invite", caller.account_id,
                           {"invitation_id": row.id, "email": row.email, "role": row.role})
    link = f"{request.url.scheme}://{request.url.netloc}/invitation?token={token}"
    emailed = await send_invitation(state.settings.smtp, team.name or team.id, row, link)
    async with audited.system() as tx:
        await tx.audit("team.invite_email", caller.account_id, {"invitation_id": row.id, "emailed": emailed})
    return SentInvitation(**_view(row).model_dump(), emailed=emailed, accept_url=None if emailed else link)


@router.post("/team/members", response_model=SentInvitation, status_code=202, deprecated=True)
async def post_member(body: NewInvitation, request: Request, audited: Audited,
                      caller: AccountCaller = Depends(team_manager)) -> SentInvitation:
    """Sends an invitation, exactly as POST /api/team/invitations does: this once added an existing user at
    once, without their consent, and told by its answer whether the address had an account. 202: the person
    becomes a member when they accept."""
    return await post_invitation(body, request, audited, caller)


@router.get("/team/invitations", response_model=list[InvitationView])
async def list_invitations(request: Request, caller: AccountCaller = Depends(team_manager)
                           ) -> list[InvitationView]:
    """The team's pending invitations (not accepted, cancelled or expired)."""
    async with gateway_of(request).sessions() as session:
        return [_view(row) for row in await invitations.pending(session, caller.account_id)]


@router.delete("/team/invitations/{invitation_id}", response_model=InvitationView)
async def delete_invitation(invitation_id: str, audited: Audited, caller: AccountCaller = Depends(team_manager)
                            ) -> InvitationView:
    """Cancel a pending invitation: its link works no more."""
    with team_errors():
        async with audited.begin(caller.actor) as tx:
            row = await invitations.cancel(tx.session, caller.account_id, invitation_id)
            await tx.audit("team.invite_cancel", caller.account_id, {"invitation_id": row.id})
    return _view(row)


def _view(row: TeamInvitation) -> InvitationView:
    return InvitationView(id=row.id, email=row.email, role=row.role,
                          limit_usd=None if row.limit_units is None else units_to_usd_str(row.limit_units),
                          limit_reset=row.limit_reset, invited_by=row.invited_by, created_at=row.created_at,
                          expires_at=row.expires_at)
