"""The caller's account accepts the image-upload warranty of the terms (§4.8), which image edits
and variations need first. Authenticated with the account's own API key; it acts on that account only."""

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from ..accounts.terms import accept_terms, latest_acceptance
from ..gateway.auth import authenticate

router = APIRouter(prefix="/terms", tags=["terms"])


class UploadWarranty(BaseModel):
    account_id: str
    version: str
    image_uploads: bool
    accepted_at: datetime | None


@router.post("/image-uploads", response_model=UploadWarranty)
async def accept_image_uploads(request: Request) -> UploadWarranty:
    """Give the §4.8 warranty for the terms version in force (accepting again changes nothing)."""
    state = request.app.state.gateway
    caller = await authenticate(request, state.auth)
    async with state.sessions.begin() as session:
        row = await accept_terms(session, caller.account.id, state.settings.terms.version, image_uploads=True)
    return UploadWarranty(account_id=row.account_id, version=row.version, image_uploads=True,
                          accepted_at=row.accepted_at)


@router.get("/image-uploads", response_model=UploadWarranty)
async def image_uploads_status(request: Request) -> UploadWarranty:
    """Whether the caller's account gave the warranty for the terms version in force, and when."""
    state = request.app.state.gateway
    caller = await authenticate(request, state.auth)
    version = state.settings.terms.version
    async with state.sessions() as session:
        row = await latest_acceptance(session, caller.account.id, version, image_uploads=True)
    return UploadWarranty(account_id=caller.account.id, version=version, image_uploads=row is not None,
                          accepted_at=row.accepted_at if row else None)
