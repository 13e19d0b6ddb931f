"""Email verification: follow the emailed link (signed in or not), or ask for a new one; and the gate that
keeps an unverified user from making API keys where the server asks for verification."""

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from pydantic import BaseModel, Field

from alltoken.accounts import email_verification, sign_in_throttle
from alltoken.http.api.audited import Audited
from alltoken.http.api.auth import emailed_links
from alltoken.http.api.auth.password_work import throttle_refusal
from alltoken.http.api.callers import AccountCaller, session_user
from alltoken.http.errors import bad_request, forbidden
from alltoken.http.gateway import gateway_of
from alltoken.runtime.gateway import Gateway

router = APIRouter(prefix="/auth/email-verification", tags=["console sign-in"])
THROTTLE = "verify:"      # verification emails are counted apart from sign-ins and reset emails
PAGE = "verify-email"     # the console's page the link opens


class VerificationSent(BaseModel):
    message: str


class VerificationConfirm(BaseModel):
    token: str = Field(min_length=1, max_length=200, description="From the emailed link")


@router.post("", status_code=202, response_model=VerificationSent)
async def resend(request: Request, background: BackgroundTasks, audited: Audited,
                 signed_in=Depends(session_user)) -> VerificationSent:
    """Email the signed-in user a new verification link (the older ones stop working when one is used)."""
    state = gateway_of(request)
    if state.settings.smtp is None:
        raise emailed_links.email_unavailable("a verification link")
    if signed_in.email_verified:
        raise bad_request("your email address is already verified", code="email_already_verified")
    async with audited.begin(f"user:{signed_in.user_id}") as tx:
        with throttle_refusal("too many verification emails", "verification_throttled"):
            await sign_in_throttle.count_attempt(tx.session, signed_in.email, audited.address, THROTTLE)
        token = email_verification.issue(tx.session, signed_in.user_id)
        await tx.audit("auth.email_verification_request", signed_in.user_id)
    send_verification(state.settings, background, signed_in.email, token)
    return VerificationSent(message=f"a new link is on its way to {signed_in.email}; it works once, for "
                                    f"{int(email_verification.LIFETIME.total_seconds() // 3600)} hours")


@router.post("/confirm", status_code=204)
async def confirm(body: VerificationConfirm, audited: Audited) -> None:
    """Verify the email address the token was sent to."""
    async with audited.begin("anonymous") as tx:
        try:
            user_id = await email_verification.confirm(tx.session, body.token)
        except email_verification.InvalidToken:
            raise bad_request("this verification link is not valid: it was used, it expired, or it was never "
                              "issued; sign in and ask for a new one", param="token",
                              code="invalid_verification_token") from None
        await tx.by(f"user:{user_id}").audit("auth.email_verified", user_id)


def send_verification(settings, background: BackgroundTasks, recipient: str, token: str) -> None:
    link = emailed_links.console_link(settings, PAGE, token)
    background.add_task(emailed_links.send, settings, recipient, *email_verification.verification_email(link))


def must_verify(state: Gateway, verified: bool) -> bool:
    """The server asks for verification and the user has not given it."""
    return state.settings.sign_up.email_verification and not verified


def require_verified_email(state: Gateway, caller: AccountCaller) -> None:
    """A console session may make API keys once its user's email is verified, where the server asks for it.
    (An API key is already past this: only a verified user, or an administrator, made its account's first.)"""
    if caller.signed_in is not None and must_verify(state, caller.signed_in.email_verified):
        raise forbidden(f"verify your email address first: follow the link sent to {caller.signed_in.email}, or "
                        "ask for a new one (POST /api/auth/email-verification)", code="email_unverified")
