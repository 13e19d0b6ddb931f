"""/api/account/memberships: the accounts a signed-in user acts in, and how a membership looks wherever one
is shown (switching to it: auth/switch_account.py; creating a team: teams.py; joining one: invitations.py).

A session acts in one account at a time (its own personal account at sign-in); every account-scoped
endpoint then works on that account with the user's role in it.
"""

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from alltoken.accounts import memberships, sessions
from alltoken.http.api.callers import session_user
from alltoken.http.gateway import gateway_of
from alltoken.store.models import User

router = APIRouter(tags=["teams"])


class MembershipView(BaseModel):
    account_id: str
    name: str | None
    kind: str = Field(description="personal | team")
    role: str = Field(description="The user's role in it: owner of their personal account")
    active: bool = Field(description="The session acts in this account now")


@router.get("/account/memberships", response_model=list[MembershipView])
async def list_memberships(request: Request, signed_in: sessions.SignedIn = Depends(session_user)
                           ) -> list[MembershipView]:
    """Every account this user may act in, with their role; the session's active one is marked."""
    async with gateway_of(request).sessions() as session:
        found = await memberships.memberships(session, await session.get_one(User, signed_in.user_id))
    return [membership_view(item, signed_in.account_id) for item in found]


def membership_view(item: memberships.Membership, active_id: str) -> MembershipView:
    return MembershipView(account_id=item.account_id, name=item.name, kind=item.kind, role=item.role,
                          active=item.account_id == active_id)
