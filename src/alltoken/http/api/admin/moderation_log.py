"""Admin endpoints for the image moderation log (terms §4.7(c)): list it a page at a time, or export it."""

from datetime import datetime
from typing import Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from alltoken.http.api.callers import AccountCaller, admin
from alltoken.http.api.csv_export import csv_line
from alltoken.http.errors import bad_request
from alltoken.http.gateway import gateway_of
from alltoken.images import moderation_log

router = APIRouter(prefix="/admin/moderation-log", tags=["admin"])


class ModerationEntry(BaseModel):
    moderation: str | None
    account_id: str
    task_id: str
    timestamp: datetime
    model: str


class ModerationPage(BaseModel):
    data: list[ModerationEntry]
    next_cursor: str | None


@router.get("", response_model=ModerationPage)
async def list_log(request: Request, since: datetime | None = None, until: datetime | None = None,
                   account_id: str | None = None, cursor: str | None = None,
                   limit: int = Query(100, ge=1, le=1000), _: AccountCaller = Depends(admin)) -> ModerationPage:
    """Oldest first; `next_cursor` (when set) fetches the following page."""
    filters = _filters(since, until, account_id)
    if cursor is not None:
        _check_cursor(cursor)
    async with gateway_of(request).sessions() as session:
        found = await moderation_log.records(session, after=cursor, limit=limit + 1, **filters)
    page = found[:limit]
    return ModerationPage(data=[ModerationEntry(**r.as_dict()) for r in page],
                          next_cursor=page[-1].cursor() if len(found) > limit else None)


@router.get("/export")
async def export_log(request: Request, since: datetime | None = None, until: datetime | None = None,
                     account_id: str | None = None, format: Literal["csv", "jsonl"] = "csv",
                     _: AccountCaller = Depends(admin)) -> StreamingResponse:
    """Every matching record, streamed: CSV with a header row, or one JSON object a line."""
    rows = moderation_log.every_record(gateway_of(request).sessions, **_filters(since, until, account_id))
    encode = _csv_lines if format == "csv" else _json_lines
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(encode(rows), media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="moderation-log.{format}"'})


async def _csv_lines(rows):
    yield _csv_row(moderation_log.FIELDS)
    async for record in rows:
        entry = record.as_dict()
        yield _csv_row([entry[name] for name in moderation_log.FIELDS])


def _csv_row(values) -> str:
    return csv_line(values, lineterminator="\n")


async def _json_lines(rows):
    async for record in rows:
        yield orjson.dumps(record.as_dict()) + b"\n"


def _filters(since: datetime | None, until: datetime | None, account_id: str | None) -> dict:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise bad_request(f"'{name}' needs a timezone, e.g. 2026-11-01T00:00:00Z", param=name)
    return {"since": since, "until": until, "account_id": account_id}


def _check_cursor(cursor: str) -> None:
    try:
        moderation_log.parse_cursor(cursor)
    except ValueError:
        raise bad_request("'cursor' is not a cursor this endpoint gave out", param="cursor") from None
