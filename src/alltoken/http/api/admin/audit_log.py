"""Admin endpoints for the audit log: list (paged, oldest first) and export as CSV."""

from datetime import datetime

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from alltoken.audit import entries
from alltoken.http.api.callers import AccountCaller, admin
from alltoken.http.api.csv_export import PAGE_SIZE, csv_download, paged_csv
from alltoken.http.gateway import gateway_of

router = APIRouter(prefix="/admin", tags=["admin"])

_CSV_COLUMNS = ("id", "at", "actor", "action", "target", "address", "details")


class AuditEntryView(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    address: str | None
    details: dict


class AuditPage(BaseModel):
    entries: list[AuditEntryView]
    next_after: int | None     # pass as `after` for the next page; null on the last page


@router.get("/audit-log", response_model=AuditPage)
async def audit_log(request: Request, since: datetime | None = None, target: str | None = None,
                    after: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=PAGE_SIZE),
                    _: AccountCaller = Depends(admin)) -> AuditPage:
    """Who did what, to what, when and from where; oldest first."""
    async with gateway_of(request).sessions() as session:
        found = await entries(session, since=since, target=target, after_id=after, limit=limit)
    return AuditPage.model_validate({"entries": found, "next_after": found[-1]["id"] if len(found) == limit else None})


@router.get("/audit-log.csv", response_class=StreamingResponse)
async def audit_log_csv(request: Request, since: datetime | None = None, target: str | None = None,
                        _: AccountCaller = Depends(admin)) -> StreamingResponse:
    """The whole log (or from `since`) as CSV, read a page at a time."""
    sessions = gateway_of(request).sessions

    async def page_after(after_id: int | None) -> list[dict]:
        async with sessions() as session:
            return await entries(session, since=since, target=target, after_id=after_id or 0, limit=PAGE_SIZE)

    def to_row(entry: dict) -> list:
        return [*(entry[c] for c in _CSV_COLUMNS[:-1]), orjson.dumps(entry["details"]).decode()]

    return csv_download(paged_csv(_CSV_COLUMNS, page_after, to_row, lambda entry: entry["id"]), "audit-log.csv")
