"""/api/invitations: what an invitation link offers (before signing in), and accepting it as the invited,
signed-in user (team/invitations.py sends them)."""

from contextlib import contextmanager
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from alltoken.accounts import invitations, sessions
from alltoken.accounts.teams import get_team
from alltoken.errors import AllTokenError
from alltoken.http.api.account.memberships import MembershipView
from alltoken.http.api.audited import Audited
from alltoken.http.api.callers import SESSION_COOKIE, session_user
from alltoken.http.api.service_errors import service_errors
from alltoken.http.errors import ApiError, forbidden
from alltoken.http.gateway import gateway_of
from alltoken.store.models import User

router = APIRouter(tags=["team"])


class InvitationToken(BaseModel):
    token: str = Field(min_length=1, max_length=200)


class InvitationPreview(BaseModel):
    team_name: str | None
    email: str = Field(description="The invited address: sign up or sign in with it")
    role: str
    expires_at: datetime


@router.post("/invitations/preview", response_model=InvitationPreview)
async def preview_invitation(body: InvitationToken, request: Request) -> InvitationPreview:
    """What an invitation link offers, before signing in: the team, the invited address and the role."""
    async with gateway_of(request).sessions() as session:
        with _invitation_errors():
            row = await invitations.by_token(session, body.token)
            team = await get_team(session, row.account_id)
    return InvitationPreview(team_name=team.name, email=row.email, role=row.role, expires_at=row.expires_at)


@router.post("/invitations/accept", response_model=MembershipView)
async def accept_invitation(body: InvitationToken, request: Request, audited: Audited,
                            signed_in: sessions.SignedIn = Depends(session_user)) -> MembershipView:
    """Join the team as the signed-in user (who must be the invited address), and switch the session to it."""
    actor = f"user:{signed_in.user_id}"
    try:
        async with audited.begin(actor) as tx:
            user = await tx.session.get_one(User, signed_in.user_id)
            with _invitation_errors():
                row, joined = await invitations.accept(tx.session, body.token, user)
                team = await get_team(tx.session, row.account_id)
            await tx.audit("team.invite_accept", row.account_id, {"invitation_id": row.id, "role": joined.role})
            await sessions.switch_account(tx.session, request.cookies[SESSION_COOKIE], row.account_id)
    except AllTokenError as refused:   # recorded too: a wrong address or a used link may be someone probing
        async with audited.begin(actor) as tx:
            await tx.audit("team.invite_refused", signed_in.user_id, {"code": refused.code})
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
