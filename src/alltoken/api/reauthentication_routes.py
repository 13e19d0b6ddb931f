"""POST /api/auth/reauthenticate: the signed-in user confirms their password, and for the next minutes their
session may do what needs it fresh (deleting or exporting the account, where alerts go, accepting terms and
warranties, who the owners are: accounts/roles.py, CONFIRMED)."""

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ..accounts import passwords, reauthentication, sessions
from ..gateway.client_address import client_address
from ..gateway.errors import ApiError, bad_request
from ..governance import audit
from ..store.models import User
from .callers import SESSION_COOKIE, session_user

router = APIRouter(prefix="/auth", tags=["console sign-in"])


class Reauthentication(BaseModel):
    password: str = Field(max_length=passwords.MAX_LENGTH)


class Reauthenticated(BaseModel):
    confirmed_until: datetime = Field(description="Until then this session may do what needs a confirmed password")


@router.post("/reauthenticate", response_model=Reauthenticated)
async def reauthenticate(body: Reauthentication, request: Request,
                         signed_in: sessions.SignedIn = Depends(session_user)) -> Reauthenticated:
    """Confirm the signed-in user's password. A wrong one is a 400 and counts as a failed sign-in (after five
    in 15 minutes for one email, 429 with Retry-After)."""
    state, address = request.app.state.gateway, client_address(request)
    async with state.sessions.begin() as session:
        user = await session.get(User, signed_in.user_id)
        try:
            confirmed_at = await reauthentication.confirm(session, request.cookies[SESSION_COOKIE], user,
                                                          body.password, address)
        except reauthentication.Throttled as throttled:
            raise ApiError(429, str(throttled), type="rate_limit_error", code="sign_in_throttled",
                           headers={"retry-after": str(throttled.seconds)}) from None
        await audit.record(session, f"user:{user.id}",
                           "auth.reauthenticate" if confirmed_at else "auth.reauthenticate_failed",
                           signed_in.account_id, address=address)
    if confirmed_at is None:   # after the commit, so the failure counts
        raise bad_request("the password is wrong", param="password", code="wrong_credentials")
    return Reauthenticated(confirmed_until=confirmed_at + sessions.REAUTHENTICATION_LASTS)
