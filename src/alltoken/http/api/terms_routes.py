"""Terms of service: an account reads and accepts them (its owner, signed in, password confirmed: accounts/roles.py,
CONFIRMED); administrators publish versions."""

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, Field

from alltoken import audit
from alltoken.accounts import terms
from alltoken.errors import Conflict, NotFound
from alltoken.http.api.admin_routes import actor_of, admin
from alltoken.http.api.callers import AccountCaller, AccountScope, ConfirmedOwnerScope
from alltoken.http.client_address import client_address
from alltoken.http.errors import ApiError, bad_request, not_found
from alltoken.ids import utcnow

router = APIRouter(tags=["terms"])


class TermsVersionView(BaseModel):
    version: str
    effective_at: datetime
    material: bool
    url: str | None
    summary: str | None
    published_at: datetime


class TermsStatus(BaseModel):
    current: TermsVersionView | None = Field(description="The version in effect now (null: none published)")
    accepted_version: str | None = Field(description="The newest version this account accepted")
    accepted_at: datetime | None
    accepts_current: bool
    must_accept_by: datetime | None = Field(description="When a material version this account has not accepted "
                                                        "is in effect: the end of its grace period (past: requests "
                                                        "are refused until it accepts)")


class AcceptanceView(BaseModel):
    account_id: str
    version: str
    accepted_at: datetime


class TermsPublish(BaseModel):
    version: str = Field(min_length=1, max_length=terms.MAX_VERSION_LENGTH, description="e.g. 2026-07")
    effective_at: AwareDatetime = Field(description="When it takes effect; after every published version")
    material: bool = Field(False, description="Accounts must accept it again within the grace period")
    url: str | None = Field(None, max_length=500)
    summary: str | None = None


@router.get("/terms", response_model=TermsStatus)
async def status(request: Request, caller: AccountScope) -> TermsStatus:
    """The terms in effect, and where this account stands with them."""
    state = request.app.state.gateway
    async with state.sessions() as session:
        current = await terms.current_version(session)
        latest = await terms.latest_acceptance(session, caller.account_id)
    accepted = latest[1] if latest else None
    owed = state.terms.owed(accepted.effective_at if accepted else None, utcnow())
    return TermsStatus(
        current=_view(current) if current else None, accepted_version=accepted.version if accepted else None,
        accepted_at=latest[0].accepted_at if latest else None,
        accepts_current=current is None or (accepted is not None and accepted.effective_at >= current.effective_at),
        must_accept_by=owed.deadline if owed else None)


@router.post("/terms/accept", response_model=AcceptanceView)
async def accept(request: Request, caller: ConfirmedOwnerScope) -> AcceptanceView:
    """This account accepts the version in effect now: its owner does, from the console."""
    state = request.app.state.gateway
    try:
        async with state.sessions.begin() as session:
            row = await terms.accept(session, caller.account_id)
            await audit.record(session, caller.actor, "terms.accept", caller.account_id, {"version": row.version},
                               client_address(request))
    except NotFound as exc:
        raise not_found(str(exc), code="no_terms") from None
    state.auth.drop_account(caller.account_id)  # this process at once; the others through the change feed
    return AcceptanceView(account_id=row.account_id, version=row.version, accepted_at=row.accepted_at)


@router.get("/admin/terms", response_model=list[TermsVersionView], tags=["admin"])
async def list_versions(request: Request, _: AccountCaller = Depends(admin)) -> list[TermsVersionView]:
    """Every published version, oldest first."""
    async with request.app.state.gateway.sessions() as session:
        return [_view(row) for row in await terms.versions(session)]


@router.post("/admin/terms", response_model=TermsVersionView, status_code=201, tags=["admin"])
async def publish(body: TermsPublish, request: Request, caller: AccountCaller = Depends(admin)) -> TermsVersionView:
    """Publish a version. A material one makes every account accept it within the grace period."""
    state = request.app.state.gateway
    actor, address = actor_of(request, caller)
    try:
        async with state.sessions.begin() as session:
            row = await terms.publish(session, body.version, body.effective_at, material=body.material, url=body.url,
                                      summary=body.summary)
            await audit.record(session, actor, "terms.publish", f"terms:{row.version}",
                               {"effective_at": row.effective_at.isoformat(), "material": row.material,
                                "url": row.url}, address)
    except Conflict as exc:
        raise ApiError(409, str(exc), type="invalid_request_error", code="version_exists", param="version") from None
    except ValueError as exc:
        raise bad_request(str(exc), param="effective_at") from None
    await state.terms.refresh()  # this process at once; the others through the change feed
    return _view(row)


def _view(row) -> TermsVersionView:
    return TermsVersionView(version=row.version, effective_at=row.effective_at, material=row.material, url=row.url,
                            summary=row.summary, published_at=row.published_at)


class UploadWarranty(BaseModel):
    account_id: str
    version: str = Field(description="The terms version the warranty was given for ('unpublished' before any)")
    image_uploads: bool
    accepted_at: datetime | None


@router.post("/terms/image-uploads", response_model=UploadWarranty)
async def accept_image_uploads(request: Request, caller: ConfirmedOwnerScope) -> UploadWarranty:
    """Give the section 4.8 warranty for uploaded images, for the terms version in effect (image edits and
    variations need it; giving it again changes nothing). The owner gives it, from the console."""
    state = request.app.state.gateway
    async with state.sessions.begin() as session:
        row = await terms.give_upload_warranty(session, caller.account_id)
        await audit.record(session, caller.actor, "terms.image_uploads", caller.account_id, {"version": row.version},
                           client_address(request))
    return UploadWarranty(account_id=row.account_id, version=row.version, image_uploads=True,
                          accepted_at=row.accepted_at)


@router.get("/terms/image-uploads", response_model=UploadWarranty)
async def image_uploads_status(request: Request, caller: AccountScope) -> UploadWarranty:
    """Whether this account gave the warranty for the terms version in effect, and when."""
    async with request.app.state.gateway.sessions() as session:
        # The version in effect as giving the warranty reads it (the data plane's cached copy may be a poll behind).
        current = await terms.current_version(session)
        version = current.version if current else terms.UNPUBLISHED
        row = await terms.upload_warranty(session, caller.account_id, version)
    return UploadWarranty(account_id=caller.account_id, version=version, image_uploads=row is not None,
                          accepted_at=row.accepted_at if row else None)
