"""POST /api/auth/reauthenticate: the signed-in user confirms their password, and for the next minutes their
session may do what needs it fresh (deleting or exporting the account, where alerts go, accepting terms and
warranties, who the owners are: accounts/roles.py, CONFIRMED)."""

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from alltoken.accounts import passwords, sessions, sign_in_throttle
from alltoken.http.api.audited import Audited
from alltoken.http.api.auth.password_work import checked_or_given_back, throttle_refusal
from alltoken.http.api.callers import SESSION_COOKIE, session_user
from alltoken.http.errors import bad_request
from alltoken.http.gateway import gateway_of
from alltoken.ids import utcnow
from alltoken.store.models import User

router = APIRouter(prefix="/auth", tags=["console sign-in"])


class Reauthentication(BaseModel):
    password: str = Field(max_length=passwords.MAX_LENGTH)


class Reauthenticated(BaseModel):
    confirmed_until: datetime = Field(description="Until then this session may do what needs a confirmed password")


@router.post("/reauthenticate", response_model=Reauthenticated)
async def reauthenticate(body: Reauthentication, request: Request, audited: Audited,
                         signed_in: sessions.SignedIn = Depends(session_user)) -> Reauthenticated:
    """Confirm the signed-in user's password. The attempt counts as a sign-in attempt for that email and
    address, under the same throttle (a stolen session is no way to guess the password): a wrong password is a
    400, and after five in 15 minutes for one email, 429 with Retry-After."""
    state, address = gateway_of(request), audited.address
    async with state.sessions.begin() as session:
        user = await session.get_one(User, signed_in.user_id)
        with throttle_refusal("too many failed sign-ins", "sign_in_throttled"):
            await sign_in_throttle.count_attempt(session, user.email, address)
    matches = await checked_or_given_back(state.sessions, user.password_hash, body.password, user.email, address)
    confirmed_at = utcnow()
    async with audited.begin(f"user:{user.id}") as tx:
        if matches:
            await sign_in_throttle.succeeded(tx.session, user.email, address)
            await sessions.mark_reauthenticated(tx.session, request.cookies[SESSION_COOKIE], confirmed_at)
        await tx.audit("auth.reauthenticate" if matches else "auth.reauthenticate_failed", signed_in.account_id)
    if not matches:
        raise bad_request("the password is wrong", param="password", code="wrong_credentials")
    return Reauthenticated(confirmed_until=confirmed_at + sessions.REAUTHENTICATION_LASTS)
