"""Forgotten passwords: ask for a reset link by email, then set a new password with its token."""

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field

from alltoken.accounts import password_reset, passwords, sign_in_throttle
from alltoken.accounts.service import normalized_email
from alltoken.http.api.audited import Audited
from alltoken.http.api.auth import emailed_links
from alltoken.http.api.auth.password_work import hashed, throttle_refusal
from alltoken.http.api.studio import audit_studio_keys_revoked, forget_keys
from alltoken.http.errors import bad_request
from alltoken.http.gateway import gateway_of

router = APIRouter(prefix="/auth/password-reset", tags=["console sign-in"])
THROTTLE = "reset:"       # reset emails are counted apart from failed sign-ins


class ResetRequest(BaseModel):
    email: str = Field(max_length=320)


class ResetAccepted(BaseModel):
    message: str


class ResetConfirm(BaseModel):
    token: str = Field(min_length=1, max_length=200, description="From the emailed link")
    new_password: str = Field(max_length=passwords.MAX_LENGTH)


ACCEPTED = ResetAccepted(message="if an account uses this email, a link to reset its password is on its way; "
                                 "it works once, for one hour")


@router.post("", status_code=202, response_model=ResetAccepted)
async def request_reset(body: ResetRequest, request: Request, background: BackgroundTasks,
                        audited: Audited) -> ResetAccepted:
    """Email a single-use reset link to the user with this email. The answer is the same whether or not one
    exists (and the email goes out after it), so it tells no one who has an account."""
    state = gateway_of(request)
    if state.settings.smtp is None:
        raise emailed_links.email_unavailable("a reset link")
    try:
        email = normalized_email(body.email)
    except ValueError:
        raise bad_request("that is not an email address", param="email", code="invalid_email") from None
    async with audited.begin("anonymous") as tx:
        with throttle_refusal("too many password reset requests", "reset_throttled"):
            await sign_in_throttle.count_attempt(tx.session, email, audited.address, THROTTLE)
        issued = await password_reset.issue(tx.session, email)
        if issued is not None:
            user, token = issued
            await tx.audit("auth.password_reset_request", user.id)
    if issued is not None:
        link = emailed_links.console_link(state.settings, "reset-password", token)
        background.add_task(emailed_links.send, state.settings, user.email, *password_reset.reset_email(link))
    return ACCEPTED


@router.post("/confirm", status_code=204)
async def confirm_reset(body: ResetConfirm, request: Request, audited: Audited) -> None:
    """Set a new password with the emailed token: every session of the user ends, their Studio keys are
    revoked, the token is used up."""
    try:
        passwords.check_policy(body.new_password)
    except ValueError as exc:
        raise bad_request(str(exc), param="new_password", code="weak_password") from None
    state = gateway_of(request)
    async with state.sessions() as session:   # a made-up token costs no hashing
        usable = await password_reset.usable(session, body.token)
    try:
        if not usable:
            raise password_reset.InvalidToken()
        new_hash = await hashed(body.new_password)
        async with audited.begin("anonymous") as tx:
            reset = await password_reset.redeem(tx.session, body.token, new_hash)
            tx = tx.by(f"user:{reset.user_id}")   # the token named its user
            await tx.audit("auth.password_reset", reset.user_id, {"sessions_ended": reset.sessions_ended})
            await audit_studio_keys_revoked(tx, reset.studio_keys_revoked, "password reset")
    except password_reset.InvalidToken:
        raise bad_request("this reset link is not valid: it was used, it expired, or it was never issued; "
                          "ask for a new one", param="token", code="invalid_reset_token") from None
    forget_keys(state, reset.studio_keys_revoked)


