"""Forgotten passwords: ask for a reset link by email, then set a new password with its token."""

import logging
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field

from ..accounts import password_reset, passwords, sign_in_throttle
from ..accounts.service import normalized_email
from ..config import Settings
from ..gateway.client_address import client_address
from ..gateway.errors import ApiError, bad_request
from ..governance import audit
from ..notifications.mailer import Mailer

router = APIRouter(prefix="/auth/password-reset", tags=["console sign-in"])
log = logging.getLogger("alltoken.password_reset")
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
async def request_reset(body: ResetRequest, request: Request, background: BackgroundTasks) -> ResetAccepted:
    """Email a single-use reset link to the user with this email. The answer is the same whether or not one
    exists (and the email goes out after it), so it tells no one who has an account."""
    state = request.app.state.gateway
    if state.settings.smtp is None:
        raise ApiError(503, "this server sends no email, so it cannot send a reset link: ask its administrator",
                       type="api_error", code="email_unavailable")
    try:
        email = normalized_email(body.email)
    except ValueError:
        raise bad_request("that is not an email address", param="email", code="invalid_email") from None
    address = client_address(request)
    async with state.sessions.begin() as session:
        wait = await sign_in_throttle.seconds_to_wait(session, email, address, THROTTLE)
        if wait:
            raise ApiError(429, f"too many password reset requests; try again in {wait} s", type="rate_limit_error",
                           code="reset_throttled", headers={"retry-after": str(wait)})
        await sign_in_throttle.record_failure(session, email, address, THROTTLE)
        issued = await password_reset.issue(session, email)
        if issued is not None:
            user, token = issued
            await audit.record(session, "anonymous", "auth.password_reset_request", user.id, address=address)
    if issued is not None:
        background.add_task(_send, state.settings, user.email, token)
    return ACCEPTED


@router.post("/confirm", status_code=204)
async def confirm_reset(body: ResetConfirm, request: Request) -> None:
    """Set a new password with the emailed token: every session of the user ends, the token is used up."""
    try:
        passwords.check_policy(body.new_password)
    except ValueError as exc:
        raise bad_request(str(exc), param="new_password", code="weak_password") from None
    try:
        async with request.app.state.gateway.sessions.begin() as session:
            reset = await password_reset.redeem(session, body.token, body.new_password)
            await audit.record(session, f"user:{reset.user_id}", "auth.password_reset", reset.user_id,
                               {"sessions_ended": reset.sessions_ended}, address=client_address(request))
    except password_reset.InvalidToken:
        raise bad_request("this reset link is not valid: it was used, it expired, or it was never issued; "
                          "ask for a new one", param="token", code="invalid_reset_token") from None


def reset_link(settings: Settings, token: str) -> str:
    """Built from configuration, never from the request's Host header, which an attacker could set to send
    the victim's token to their own site."""
    base = (settings.console_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    return f"{base}/reset-password?token={quote(token)}"


async def _send(settings: Settings, recipient: str, token: str) -> None:
    subject, text = password_reset.reset_email(reset_link(settings, token))
    try:
        await Mailer(settings.smtp).send(recipient, subject, text)
    except Exception as exc:  # the person may ask again; never log the token or the address
        log.warning("could not send a password reset email: %s", type(exc).__name__)
