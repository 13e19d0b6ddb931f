"""Console sign-up, sign-in and sign-out: email and password, a session cookie, a CSRF token."""

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts import passwords, sessions, sign_in_throttle, studio_keys, terms
from ..accounts.service import Conflict, create_account, normalized_email
from ..gateway.client_address import client_address
from ..gateway.errors import ApiError, bad_request
from ..governance import audit
from ..ids import new_id, utcnow
from ..store.models import User
from .callers import CSRF_COOKIE, SESSION_COOKIE, AccountCaller, account_caller, session_required, signed_in_user

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


@router.post("/signup", status_code=201, response_model=Me)
async def sign_up(body: SignUp, request: Request, response: Response) -> Me:
    """Create an account and its first user, and sign in."""
    try:
        passwords.check_policy(body.password)
    except ValueError as exc:
        raise bad_request(str(exc), param="password", code="weak_password") from None
    taken = bad_request("an account with this email already exists; sign in instead", param="email",
                        code="email_taken")
    try:
        async with request.app.state.gateway.sessions.begin() as session:
            try:
                account = await create_account(session, body.email, body.name)
            except Conflict:
                raise taken from None
            except ValueError as exc:
                raise bad_request(str(exc), param="email", code="invalid_email") from None
            user = User(id=new_id("user_", 8), account_id=account.id, email=account.email,
                        password_hash=passwords.hash_password(body.password), is_admin=False, created_at=utcnow())
            session.add(user)
            await session.flush()
            accepted = await _accept_terms(session, account.id, body.accept_terms)
            token, csrf = await sessions.open_session(session, user)
            await audit.record(session, f"user:{user.id}", "auth.signup", account.id,
                               {"terms_version": accepted} if accepted else None, address=client_address(request))
    except IntegrityError:  # the same email signed up a moment ago
        raise taken from None
    return _signed_in(request, response, user, account.id, token, csrf)


@router.post("/login", response_model=Me)
async def sign_in(body: SignIn, request: Request, response: Response) -> Me:
    address = client_address(request)
    try:
        email = normalized_email(body.email)
    except ValueError:  # no such account can exist
        raise _wrong_credentials() from None
    async with request.app.state.gateway.sessions.begin() as session:
        wait = await sign_in_throttle.seconds_to_wait(session, email, address)
        if wait:
            raise ApiError(429, f"too many failed sign-ins; try again in {wait} s", type="rate_limit_error",
                           code="sign_in_throttled", headers={"retry-after": str(wait)})
        user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
        if not passwords.verify(user.password_hash if user else None, body.password):
            await sign_in_throttle.record_failure(session, email, address)
            await audit.record(session, "anonymous", "auth.sign_in_failed", user.id if user else None,
                               address=address)
            failed = True
        else:
            failed = False
            await sign_in_throttle.forget_failures(session, email)
            if passwords.needs_rehash(user.password_hash):
                user.password_hash = passwords.hash_password(body.password)
            token, csrf = await sessions.open_session(session, user)
            await audit.record(session, f"user:{user.id}", "auth.sign_in", user.account_id, address=address)
    if failed:  # after the commit, so the failure counts
        raise _wrong_credentials()
    return _signed_in(request, response, user, user.account_id, token, csrf)


@router.get("/me", response_model=Me)
async def me(request: Request) -> Me:
    found = await signed_in_user(request)
    return Me(user_id=found.user_id, email=found.email, account_id=found.account_id, is_admin=found.is_admin,
              csrf_token=found.csrf_token)


@router.post("/logout", status_code=204)
async def sign_out(request: Request, response: Response, caller: AccountCaller = Depends(account_caller)) -> None:
    if caller.signed_in is not None:
        async with request.app.state.gateway.sessions.begin() as session:
            await sessions.close_session(session, request.cookies[SESSION_COOKIE])
            studio = await studio_keys.revoke_for_session(session, caller.account_id, caller.signed_in.user_id)
            await _audit_revoked(session, caller, studio, request)
        _forget_keys(request, studio)
    _clear_cookies(response)


@router.post("/logout-everywhere", status_code=204)
async def sign_out_everywhere(request: Request, response: Response,
                              caller: AccountCaller = Depends(account_caller)) -> None:
    """End every session of this user, on every device."""
    user_id = _user_of(caller)
    async with request.app.state.gateway.sessions.begin() as session:
        closed = await sessions.close_all(session, user_id)
        studio = await studio_keys.revoke_for_user(session, user_id)
        await _audit_revoked(session, caller, studio, request)
        await audit.record(session, caller.actor, "auth.sign_out_everywhere", user_id, {"sessions": closed},
                           address=client_address(request))
    _forget_keys(request, studio)
    _clear_cookies(response)


@router.post("/password", status_code=204)
async def change_password(body: PasswordChange, request: Request,
                          caller: AccountCaller = Depends(account_caller)) -> None:
    """Change the password; every other session of the user ends."""
    user_id = _user_of(caller)
    try:
        passwords.check_policy(body.new_password)
    except ValueError as exc:
        raise bad_request(str(exc), param="new_password", code="weak_password") from None
    async with request.app.state.gateway.sessions.begin() as session:
        user = await session.get(User, user_id)
        if not passwords.verify(user.password_hash, body.current_password):
            raise bad_request("the current password is wrong", param="current_password", code="wrong_credentials")
        user.password_hash = passwords.hash_password(body.new_password)
        await sessions.close_all(session, user_id, keep_token=request.cookies.get(SESSION_COOKIE))
        await audit.record(session, caller.actor, "auth.password_change", user_id, address=client_address(request))


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
    secure = request.url.scheme == "https"
    max_age = int(sessions.LIFETIME.total_seconds())
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure,
                        path="/")
    # Readable by the console's script, which echoes it in the CSRF header; useless to another site.
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure, path="/")
    return Me(user_id=user.id, email=user.email, account_id=account_id, is_admin=user.is_admin, csrf_token=csrf)


async def _audit_revoked(session, caller: AccountCaller, key_ids: list[str], request: Request) -> None:
    for key_id in key_ids:
        await audit.record(session, caller.actor, "keys.revoke", key_id, {"studio": True, "reason": "sign-out"},
                           address=client_address(request))


def _forget_keys(request: Request, key_ids: list[str]) -> None:
    """Revoked Studio keys stop working in this process at once; in the others through the change feed."""
    for key_id in key_ids:
        request.app.state.gateway.auth.drop_key(key_id)


def _clear_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")

