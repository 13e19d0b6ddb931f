"""/api/admin/terms: publish terms-of-service versions and list them (an account reads and accepts them
through /api/terms: terms.py)."""

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, Field

from alltoken.accounts import terms
from alltoken.errors import Conflict
from alltoken.http.api.audited import Audited
from alltoken.http.api.callers import AccountCaller, admin
from alltoken.http.api.terms import TermsVersionView, version_view
from alltoken.http.errors import ApiError, bad_request
from alltoken.http.gateway import gateway_of

router = APIRouter(tags=["terms", "admin"])


class TermsPublish(BaseModel):
    version: str = Field(min_length=1, max_length=terms.MAX_VERSION_LENGTH, description="e.g. 2026-07")
    effective_at: AwareDatetime = Field(description="When it takes effect; after every published version")
    material: bool = Field(False, description="Accounts must accept it again within the grace period")
    url: str | None = Field(None, max_length=500)
    summary: str | None = None


@router.get("/admin/terms", response_model=list[TermsVersionView])
async def list_versions(request: Request, _: AccountCaller = Depends(admin)) -> list[TermsVersionView]:
    """Every published version, oldest first."""
    async with gateway_of(request).sessions() as session:
        return [version_view(row) for row in await terms.versions(session)]


@router.post("/admin/terms", response_model=TermsVersionView, status_code=201)
async def publish(body: TermsPublish, request: Request, audited: Audited,
                  caller: AccountCaller = Depends(admin)) -> TermsVersionView:
    """Publish a version. A material one makes every account accept it within the grace period."""
    state = gateway_of(request)
    try:
        async with audited.begin(caller.actor) as tx:
            row = await terms.publish(tx.session, body.version, body.effective_at, material=body.material,
                                      url=body.url, summary=body.summary)
            await tx.audit("terms.publish", f"terms:{row.version}",
                           {"effective_at": row.effective_at.isoformat(), "material": row.material, "url": row.url})
    except Conflict as exc:
        raise ApiError(409, str(exc), type="invalid_request_error", code="version_exists", param="version") from None
    except ValueError as exc:
        raise bad_request(str(exc), param="effective_at") from None
    await state.terms.refresh()  # this process at once; the others through the change feed
    return version_view(row)
