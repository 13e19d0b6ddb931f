"""Console sign-up, sign-in and sign-out: email and password, a session cookie, a CSRF token."""

import contextlib

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from alltoken.accounts import email_verification, passwords, sessions, sign_in_throttle, studio_keys, terms
from alltoken.accounts.service import create_account, normalized_email
from alltoken.errors import Conflict, SharedStateUnavailable
from alltoken.http.api.audited import Audited
from alltoken.http.api.auth import password_work
from alltoken.http.api.auth.email_verification import must_verify, send_verification
from alltoken.http.api.auth.password_work import checked_or_given_back, hashed, throttle_refusal, verified
from alltoken.http.api.auth.sign_up_gate import SIGN_UP_COUNTED
from alltoken.http.api.callers import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AccountCaller,
    account_caller,
    session_required,
    signed_in_user,
)
from alltoken.http.api.studio import audit_studio_keys_revoked, forget_keys
from alltoken.http.client_address import arrived_over_tls
from alltoken.http.errors import ApiError, bad_request
from alltoken.http.gateway import gateway_of
from alltoken.ids import new_id, utcnow
from alltoken.store.models import User

router = APIRouter(prefix="/auth", tags=["console sign-in"])


class SignUp(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=passwords.MAX_LENGTH)
    name: str | None = Field(None, max_length=200)
    accept_terms: bool = Field(False, description="The person accepts the terms of service in effect; required "
                                                  "(true) once a version is published, and recorded")


class SignIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=passwords.MAX_LENGTH)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=passwords.MAX_LENGTH)
    new_password: str = Field(max_length=passwords.MAX_LENGTH)


class Me(BaseModel):
    user_id: str
    email: str
    account_id: str
    is_admin: bool
    csrf_token: str = Field(description="Send it back in the x-csrf-token header on every request that "
                                        "changes something")
    email_verified: bool = Field(description="The user followed the link emailed to their address (or an "
                                             "administrator made the user)")
    must_verify_email: bool = Field(description="This server asks for a verified email before the account makes "
                                                "API keys, and this user's is not yet: POST "
                                                "/api/auth/email-verification sends a new link")


@router.post("/signup", status_code=201, response_model=Me)
async def sign_up(body: SignUp, request: Request, response: Response, background: BackgroundTasks,
                  audited: Audited) -> Me:
    """Create an account and its first user, and sign in. Throttled per client address and in all (429
    sign_up_throttled). Where the server asks for it, a link to verify the email address is sent, and the
    account makes API keys once it is followed."""
    try:
        passwords.check_policy(body.password)
    except ValueError as exc:
        raise bad_request(str(exc), param="password", code="weak_password") from None
    state = gateway_of(request)
    password_hash = await _hashed_within_sign_up_limits(request, body.password)
    verify = state.settings.sign_up.email_verification
    taken = bad_request("an account with this email already exists; sign in instead", param="email",
                        code="email_taken")
    try:
        async with audited.begin("anonymous") as tx:
            try:
                account = await create_account(tx.session, body.email, body.name)
            except Conflict:
                raise taken from None
            except ValueError as exc:
                raise bad_request(str(exc), param="email", code="invalid_email") from None
            now = utcnow()
            user = User(id=new_id("user_", 8), account_id=account.id, email=account.email, password_hash=password_hash,
                        is_admin=False, created_at=now, email_verified_at=None if verify else now)
            tx.session.add(user)
            await tx.session.flush()
            accepted = await _accept_terms(tx.session, account.id, body.accept_terms)
            token, csrf = await sessions.open_session(tx.session, user)
            link_token = email_verification.issue(tx.session, user.id) if verify else None
            await tx.by(f"user:{user.id}").audit("auth.signup", account.id,
                                                 {"terms_version": accepted} if accepted else None)
    except IntegrityError:  # the same email signed up a moment ago
        raise taken from None
    if link_token is not None:
        send_verification(state.settings, background, user.email, link_token)
    return _signed_in(request, response, user, account.id, token, csrf)


@router.post("/login", response_model=Me)
async def sign_in(body: SignIn, request: Request, response: Response, audited: Audited) -> Me:
    """The attempt is counted (and refused past the throttle's limit) before the password is checked, in its
    own transaction: the check takes a while, off the event loop."""
    state, address = gateway_of(request), audited.address
    try:
        email = normalized_email(body.email)
    except ValueError:  # no such account can exist
        raise _wrong_credentials() from None
    async with state.sessions.begin() as session:
        with throttle_refusal("too many failed sign-ins", "sign_in_throttled"):
            await sign_in_throttle.count_attempt(session, email, address)
        user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    matches = await checked_or_given_back(state.sessions, user.password_hash if user else None, body.password,
                                          email, address)
    known = user if matches else None   # only an existing user's password matches
    new_hash = await hashed(body.password) if known and passwords.needs_rehash(known.password_hash) else None
    async with audited.begin("anonymous") as tx:
        if known is None:
            await tx.audit("auth.sign_in_failed", user.id if user else None)
        else:
            await sign_in_throttle.succeeded(tx.session, email, address)
            known = await tx.session.get_one(User, known.id)
            if new_hash is not None:
                known.password_hash = new_hash
            token, csrf = await sessions.open_session(tx.session, known)
            await tx.by(f"user:{known.id}").audit("auth.sign_in", known.account_id)
    if known is None:
        raise _wrong_credentials()
    return _signed_in(request, response, known, known.account_id, token, csrf)


async def _hashed_within_sign_up_limits(request: Request, password: str) -> str:
    """The password's hash; the sign-up was counted by the throttle already (sign_up_gate.py). One the server
    is too busy to hash is given back (a 429 for a busy server must not use up anyone's sign-ups)."""
    try:
        return await passwords.hash_off_loop(password)
    except passwords.Busy:
        with contextlib.suppress(SharedStateUnavailable):
            await gateway_of(request).sign_ups.give_back(request.scope[SIGN_UP_COUNTED])
        raise password_work.busy() from None


@router.get("/me", response_model=Me)
async def me(request: Request) -> Me:
    found = await signed_in_user(request)
    return _me(request, found.user_id, found.email, found.account_id, found.is_admin, found.csrf_token,
               found.email_verified)


@router.post("/logout", status_code=204)
async def sign_out(request: Request, response: Response, audited: Audited,
                   caller: AccountCaller = Depends(account_caller)) -> None:
    if caller.signed_in is not None:
        async with audited.begin(caller.actor) as tx:
            await sessions.close_session(tx.session, request.cookies[SESSION_COOKIE])
            studio = await studio_keys.revoke_for_session(tx.session, caller.account_id, caller.signed_in.user_id)
            await audit_studio_keys_revoked(tx, studio, "sign-out")
        forget_keys(gateway_of(request), studio)
    _clear_cookies(request, response)


@router.post("/logout-everywhere", status_code=204)
async def sign_out_everywhere(request: Request, response: Response, audited: Audited,
                              caller: AccountCaller = Depends(account_caller)) -> None:
    """End every session of this user, on every device."""
    user_id = _user_of(caller)
    async with audited.begin(caller.actor) as tx:
        closed = await sessions.close_all(tx.session, user_id)
        studio = await studio_keys.revoke_for_user(tx.session, user_id)
        await audit_studio_keys_revoked(tx, studio, "sign-out")
        await tx.audit("auth.sign_out_everywhere", user_id, {"sessions": closed})
    forget_keys(gateway_of(request), studio)
    _clear_cookies(request, response)


@router.post("/password", status_code=204)
async def change_password(body: PasswordChange, request: Request, audited: Audited,
                          caller: AccountCaller = Depends(account_caller)) -> None:
    """Change the password; every other session of the user ends and their Studio keys are revoked (whoever
    knew the old password may hold one)."""
    user_id = _user_of(caller)
    try:
        passwords.check_policy(body.new_password)
    except ValueError as exc:
        raise bad_request(str(exc), param="new_password", code="weak_password") from None
    state = gateway_of(request)
    async with state.sessions() as session:
        current_hash = (await session.get_one(User, user_id)).password_hash
    if not await verified(current_hash, body.current_password):
        raise bad_request("the current password is wrong", param="current_password", code="wrong_credentials")
    new_hash = await hashed(body.new_password)
    async with audited.begin(caller.actor) as tx:
        (await tx.session.get_one(User, user_id)).password_hash = new_hash
        await sessions.close_all(tx.session, user_id, keep_token=request.cookies.get(SESSION_COOKIE))
        studio = await studio_keys.revoke_for_user(tx.session, user_id)
        await audit_studio_keys_revoked(tx, studio, "password change")
        await tx.audit("auth.password_change", user_id)
    forget_keys(state, studio)


async def _accept_terms(session, account_id: str, accept: bool) -> str | None:
    """Record acceptance of the version in effect (its name), or refuse the sign-up without it. With no
    version published there is nothing to accept."""
    current = await terms.current_version(session)
    if current is None:
        return None
    if not accept:
        raise bad_request(f"to create an account, accept the terms of service (version {current.version}"
                          f"{', ' + current.url if current.url else ''}): send \"accept_terms\": true",
                          param="accept_terms", code="terms_not_accepted")
    return (await terms.accept(session, account_id)).version


def _wrong_credentials() -> ApiError:
    """The same answer for an unknown email and a wrong password: it tells an attacker nothing."""
    return ApiError(401, "wrong email or password", type="authentication_error", code="wrong_credentials")


def _user_of(caller: AccountCaller) -> str:
    if caller.signed_in is None:
        raise session_required()
    return caller.signed_in.user_id


def _signed_in(request: Request, response: Response, user: User, account_id: str, token: str, csrf: str) -> Me:
    secure = _secure_cookies(request)
    max_age = int(sessions.LIFETIME.total_seconds())
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure,
                        path="/")
    # Readable by the console's script, which echoes it in the CSRF header; useless to another site.
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure, path="/")
    return _me(request, user.id, user.email, account_id, user.is_admin, csrf, user.email_verified_at is not None)


def _me(request: Request, user_id: str, email: str, account_id: str, is_admin: bool, csrf: str,
        email_verified: bool) -> Me:
    return Me(user_id=user_id, email=email, account_id=account_id, is_admin=is_admin, csrf_token=csrf,
              email_verified=email_verified,
              must_verify_email=must_verify(gateway_of(request), email_verified))


def _secure_cookies(request: Request) -> bool:
    """`Secure` when the request came over TLS (to us, or to a trusted proxy that says so), or always when
    `secure_cookies` is set: then the browser never sends the session over plain HTTP."""
    return gateway_of(request).settings.secure_cookies or arrived_over_tls(request)


def _clear_cookies(request: Request, response: Response) -> None:
    secure = _secure_cookies(request)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="lax")
