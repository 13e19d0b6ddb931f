"""Invitations to a team by email, the only way into a team through the API: managers send, list and cancel
them; the invited person accepts with the emailed link's token once signed in with the invited address
(docs/management-api.md). Sending one answers the same whether or not the address has an account, so it
tells no one who is registered."""

from contextlib import contextmanager
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from alltoken import audit
from alltoken.accounts import invitations, sessions
from alltoken.accounts.teams import get_team
from alltoken.errors import AllTokenError
from alltoken.http.api.callers import SESSION_COOKIE, AccountCaller, session_user
from alltoken.http.api.membership_routes import MembershipView
from alltoken.http.api.service_errors import service_errors
from alltoken.http.api.team_routes import Reset, Role, check_ownership_change, team_errors, team_manager
from alltoken.http.client_address import client_address
from alltoken.http.errors import ApiError, forbidden
from alltoken.money import units_to_usd_str
from alltoken.notifications.invitation_email import send_invitation
from alltoken.store.models import TeamInvitation, User

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


class InvitationToken(BaseModel):
    token: str = Field(min_length=1, max_length=200)


class InvitationPreview(BaseModel):
    team_name: str | None
    email: str = Field(description="The invited address: sign up or sign in with it")
    role: str
    expires_at: datetime


@router.post("/team/invitations", response_model=SentInvitation, status_code=201)
async def post_invitation(body: NewInvitation, request: Request, caller: AccountCaller = Depends(team_manager)
                          ) -> SentInvitation:
    """Invite someone by email (they need no account yet): the email carries a single-use link valid 7 days.
    Inviting an owner is making one: an owner's console session, password confirmed."""
    if body.role == "owner":
        check_ownership_change(caller)
    state = request.app.state.gateway
    with team_errors():
        async with state.sessions.begin() as session:
            team = await get_team(session, caller.account_id)
            row, token = await invitations.invite(session, caller.account_id, body.email, body.role, body.limit_usd,
                                                  body.limit_reset, invited_by=caller.actor, acting_role=caller.role)
            await audit.record(session, caller.actor, "team.invite", caller.account_id,
                               {"invitation_id": row.id, "email": row.email, "role": row.role},
                               client_address(request))
    link = f"{request.url.scheme}://{request.url.netloc}/invitation?token={token}"
    emailed = await send_invitation(state.settings.smtp, team.name or team.id, row, link)
    async with state.sessions.begin() as session:
        await audit.record(session, "system", "team.invite_email", caller.account_id,
                           {"invitation_id": row.id, "emailed": emailed})
    return SentInvitation(**_view(row).model_dump(), emailed=emailed, accept_url=None if emailed else link)


@router.post("/team/members", response_model=SentInvitation, status_code=202, deprecated=True)
async def post_member(body: NewInvitation, request: Request, caller: AccountCaller = Depends(team_manager)
                      ) -> SentInvitation:
    """Sends an invitation, exactly as POST /api/team/invitations does: this once added an existing user at
    once, without their consent, and told by its answer whether the address had an account. 202: the person
    becomes a member when they accept."""
    return await post_invitation(body, request, caller)


@router.get("/team/invitations", response_model=list[InvitationView])
async def list_invitations(request: Request, caller: AccountCaller = Depends(team_manager)
                           ) -> list[InvitationView]:
    """The team's pending invitations (not accepted, cancelled or expired)."""
    async with request.app.state.gateway.sessions() as session:
        return [_view(row) for row in await invitations.pending(session, caller.account_id)]


@router.delete("/team/invitations/{invitation_id}", response_model=InvitationView)
async def delete_invitation(invitation_id: str, request: Request, caller: AccountCaller = Depends(team_manager)
                            ) -> InvitationView:
    """Cancel a pending invitation: its link works no more."""
    with team_errors():
        async with request.app.state.gateway.sessions.begin() as session:
            row = await invitations.cancel(session, caller.account_id, invitation_id)
            await audit.record(session, caller.actor, "team.invite_cancel", caller.account_id,
                               {"invitation_id": row.id}, client_address(request))
    return _view(row)


@router.post("/invitations/preview", response_model=InvitationPreview)
async def preview_invitation(body: InvitationToken, request: Request) -> InvitationPreview:
    """What an invitation link offers, before signing in: the team, the invited address and the role."""
    async with request.app.state.gateway.sessions() as session:
        with _invitation_errors():
            row = await invitations.by_token(session, body.token)
            team = await get_team(session, row.account_id)
    return InvitationPreview(team_name=team.name, email=row.email, role=row.role, expires_at=row.expires_at)


@router.post("/invitations/accept", response_model=MembershipView)
async def accept_invitation(body: InvitationToken, request: Request,
                            signed_in: sessions.SignedIn = Depends(session_user)) -> MembershipView:
    """Join the team as the signed-in user (who must be the invited address), and switch the session to it."""
    state = request.app.state.gateway
    actor, address = f"user:{signed_in.user_id}", client_address(request)
    try:
        async with state.sessions.begin() as session:
            user = await session.get(User, signed_in.user_id)
            with _invitation_errors():
                row, joined = await invitations.accept(session, body.token, user)
                team = await get_team(session, row.account_id)
            await audit.record(session, actor, "team.invite_accept", row.account_id,
                               {"invitation_id": row.id, "role": joined.role}, address)
            await sessions.switch_account(session, request.cookies[SESSION_COOKIE], row.account_id)
    except AllTokenError as refused:   # recorded too: a wrong address or a used link may be someone probing
        async with state.sessions.begin() as session:
            await audit.record(session, actor, "team.invite_refused", signed_in.user_id, {"code": refused.code},
                               address)
        raise
    return MembershipView(account_id=team.id, name=team.name, kind=team.kind, role=joined.role, active=True)


@contextmanager
def _invitation_errors():
    with service_errors():
        try:
            yield
        except invitations.InvitationUnusable as exc:
            raise ApiError(410, str(exc), type="invalid_request_error", code="invitation_unusable") from None
        except invitations.WrongInvitee as exc:
            raise forbidden(str(exc), code="wrong_invitee") from None


def _view(row: TeamInvitation) -> InvitationView:
    return InvitationView(id=row.id, email=row.email, role=row.role,
                          limit_usd=None if row.limit_units is None else units_to_usd_str(row.limit_units),
                          limit_reset=row.limit_reset, invited_by=row.invited_by, created_at=row.created_at,
                          expires_at=row.expires_at)
