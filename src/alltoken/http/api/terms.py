"""/api/terms: the terms of service as an account sees them; it reads and accepts them (its owner, signed in,
password confirmed: accounts/roles.py, CONFIRMED). Administrators publish versions: admin/terms.py."""

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from alltoken.accounts import terms
from alltoken.errors import NotFound
from alltoken.http.api.audited import Audited
from alltoken.http.api.callers import AccountScope, ConfirmedOwnerScope
from alltoken.http.errors import not_found
from alltoken.http.gateway import gateway_of
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


@router.get("/terms", response_model=TermsStatus)
async def status(request: Request, caller: AccountScope) -> TermsStatus:
    """The terms in effect, and where this account stands with them."""
    state = gateway_of(request)
    async with state.sessions() as session:
        current = await terms.current_version(session)
        latest = await terms.latest_acceptance(session, caller.account_id)
    accepted = latest[1] if latest else None
    owed = state.terms.owed(accepted.effective_at if accepted else None, utcnow())
    return TermsStatus(
        current=version_view(current) if current else None, accepted_version=accepted.version if accepted else None,
        accepted_at=latest[0].accepted_at if latest else None,
        accepts_current=current is None or (accepted is not None and accepted.effective_at >= current.effective_at),
        must_accept_by=owed.deadline if owed else None)


@router.post("/terms/accept", response_model=AcceptanceView)
async def accept(request: Request, caller: ConfirmedOwnerScope, audited: Audited) -> AcceptanceView:
    """This account accepts the version in effect now: its owner does, from the console."""
    state = gateway_of(request)
    try:
        async with audited.begin(caller.actor) as tx:
            row = await terms.accept(tx.session, caller.account_id)
            await tx.audit("terms.accept", caller.account_id, {"version": row.version})
    except NotFound as exc:
        raise not_found(str(exc), code="no_terms") from None
    state.auth.drop_account(caller.account_id)  # this process at once; the others through the change feed
    return AcceptanceView(account_id=row.account_id, version=row.version, accepted_at=row.accepted_at)


def version_view(row) -> TermsVersionView:
    return TermsVersionView(version=row.version, effective_at=row.effective_at, material=row.material, url=row.url,
                            summary=row.summary, published_at=row.published_at)


class UploadWarranty(BaseModel):
    account_id: str
    version: str = Field(description="The terms version the warranty was given for ('unpublished' before any)")
    image_uploads: bool
    accepted_at: datetime | None


@router.post("/terms/image-uploads", response_model=UploadWarranty)
async def accept_image_uploads(caller: ConfirmedOwnerScope, audited: Audited) -> UploadWarranty:
    """Give the section 4.8 warranty for uploaded images, for the terms version in effect (image edits and
    variations need it; giving it again changes nothing). The owner gives it, from the console."""
    async with audited.begin(caller.actor) as tx:
        row = await terms.give_upload_warranty(tx.session, caller.account_id)
        await tx.audit("terms.image_uploads", caller.account_id, {"version": row.version})
    return UploadWarranty(account_id=row.account_id, version=row.version, image_uploads=True,
                          accepted_at=row.accepted_at)


@router.get("/terms/image-uploads", response_model=UploadWarranty)
async def image_uploads_status(request: Request, caller: AccountScope) -> UploadWarranty:
    """Whether this account gave the warranty for the terms version in effect, and when."""
    async with gateway_of(request).sessions() as session:
        # The version in effect as giving the warranty reads it (the data plane's cached copy may be a poll behind).
        current = await terms.current_version(session)
        version = current.version if current else terms.UNPUBLISHED
        row = await terms.upload_warranty(session, caller.account_id, version)
    return UploadWarranty(account_id=caller.account_id, version=version, image_uploads=row is not None,
                          accepted_at=row.accepted_at if row else None)
