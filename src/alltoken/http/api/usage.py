"""The caller's usage: summaries by day, model, provider or key (from the daily rollups), and the
generations themselves, newest first, as JSON pages or one streamed CSV."""

import re
from collections.abc import AsyncIterator
from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import async_sessionmaker

from alltoken.analytics.usage_queries import MAX_RANGE_DAYS, Position, Totals, generations_page, usage_summary
from alltoken.http.api.callers import AccountScope
from alltoken.http.api.csv_export import PAGE_SIZE, csv_download, paged_csv
from alltoken.http.errors import bad_request
from alltoken.http.gateway import gateway_of
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_str

router = APIRouter(prefix="/usage", tags=["usage"])

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CSV_COLUMNS = ("id", "created_at", "model", "provider", "upstream_model", "key_id", "endpoint", "streamed",
               "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms", "ttft_ms", "status", "http_status",
               "error_code")


@router.get("/summary")
async def summary(request: Request, caller: AccountScope,
                  start: str | None = Query(None, alias="from", description="first UTC day, YYYY-MM-DD; "
                                            "default: 29 days before `to`"),
                  end: str | None = Query(None, alias="to", description="last UTC day (inclusive), YYYY-MM-DD; "
                                          "default: today"),
                  group: str = Query("day", pattern="^(day|model|provider|key)$",
                                     description="day, model, provider or key")) -> dict:
    """Requests, tokens and cost over a range of UTC days, in total and per group."""
    last = _day(end, "to") if end else utcnow().date()
    first = _day(start, "from") if start else date.fromordinal(last.toordinal() - 29)
    if first > last:
        raise bad_request("`from` is after `to`", param="from")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise bad_request(f"at most {MAX_RANGE_DAYS} days per summary", param="from")
    async with gateway_of(request).sessions() as session:
        found = await usage_summary(session, caller.account_id, first, last, group)
    return {"from": first.isoformat(), "to": last.isoformat(), "group": group, "totals": _counters(found.totals),
            "data": [{group: value, **_counters(totals)} for value, totals in found.groups]}


@router.get("/generations")
async def generations(request: Request, caller: AccountScope,
                      cursor: str | None = Query(None, description="next_cursor of the previous page"),
                      limit: int = Query(50, ge=1, le=500)) -> dict:
    """The account's requests, newest first, with their cost, latency and route."""
    after = _position(cursor)
    async with gateway_of(request).sessions() as session:
        rows = await generations_page(session, caller.account_id, limit + 1, after)
    page = rows[:limit]
    more = len(rows) > limit
    return {"data": [_generation(row) for row in page],
            "next_cursor": Position(page[-1].created_at, page[-1].id).encode() if more else None}


@router.get("/generations.csv", response_class=StreamingResponse)
async def generations_csv(request: Request, caller: AccountScope) -> StreamingResponse:
    """Every one of the account's requests, newest first, as CSV (streamed a page at a time)."""
    rows = _csv_rows(gateway_of(request).sessions, caller.account_id)
    return csv_download(rows, f"generations-{caller.account_id}.csv")


def _csv_rows(sessions: async_sessionmaker, account_id: str) -> AsyncIterator[str]:
    async def page_after(after: Position | None) -> list:
        async with sessions() as session:
            return await generations_page(session, account_id, PAGE_SIZE, after)

    def to_row(row) -> list:
        record = _generation(row)
        return [record[name] for name in CSV_COLUMNS]

    return paged_csv(CSV_COLUMNS, page_after, to_row, lambda row: Position(row.created_at, row.id))


def _generation(row) -> dict:
    record = row._asdict()
    record["created_at"] = record["created_at"].isoformat()
    record["cost_usd"] = units_to_usd_str(record.pop("cost_units"))
    return record


def _counters(totals: Totals) -> dict:
    return {"requests": totals.requests, "failed_requests": totals.failed_requests,
            "prompt_tokens": totals.prompt_tokens, "completion_tokens": totals.completion_tokens,
            "cost_usd": units_to_usd_str(totals.cost_units),
            "avg_latency_ms": totals.latency_ms_sum // totals.requests if totals.requests else None}


def _day(text: str, param: str) -> date:
    if _DAY.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise bad_request(f"`{param}` must be a UTC day, YYYY-MM-DD: got {text!r}", param=param)


def _position(cursor: str | None) -> Position | None:
    try:
        return Position.decode(cursor) if cursor else None
    except ValueError as exc:
        raise bad_request(str(exc), param="cursor") from None
