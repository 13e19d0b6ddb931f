"""Ledger entries as the management API shows them: query parameters, JSON pages and CSV rows.
Shared by the account's own endpoints and the admin's view of any account."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from fastapi import Query
from sqlalchemy.ext.asyncio import async_sessionmaker

from alltoken.billing.transactions import Position, Transaction, TransactionFilter, transactions_page
from alltoken.http.api.csv_export import PAGE_SIZE, paged_csv
from alltoken.http.errors import bad_request
from alltoken.money import units_to_usd_str

CSV_COLUMNS = ("id", "created_at", "kind", "amount_usd", "balance_effect", "note", "request_id", "expires_at")


@dataclass(frozen=True, slots=True)
class TransactionQuery:
    filters: TransactionFilter
    limit: int
    after: Position | None


def transaction_query(
        kind: str | None = Query(None, pattern=r"^[a-z_]{1,20}$",
                                 description="Only entries of this kind: topup, promo, usage, adjustment, refund, "
                                             "expiry"),
        since: str | None = Query(None, alias="from", description="From this time on (ISO 8601 with a timezone, "
                                                                  "or a date, meaning 00:00 UTC), inclusive"),
        until: str | None = Query(None, alias="to", description="Before this time (same forms), exclusive"),
        limit: int = Query(100, ge=1, le=1000, description="Entries per page"),
        cursor: str | None = Query(None, description="next_cursor of the previous page")) -> TransactionQuery:
    try:
        after = Position.decode(cursor) if cursor else None
    except ValueError as exc:
        raise bad_request(str(exc), param="cursor") from None
    filters = TransactionFilter(kind, _moment(since, "from"), _moment(until, "to"))
    if filters.since and filters.until and filters.since >= filters.until:
        raise bad_request("'from' must be before 'to'", param="from")
    return TransactionQuery(filters, limit, after)


def _moment(text: str | None, param: str) -> datetime | None:
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise bad_request(f"'{param}' must be an ISO 8601 time with a timezone (2026-05-01T00:00:00Z) or a date "
                          f"(2026-05-01); got {text!r}", param=param)
    return moment


async def transactions_json(sessions: async_sessionmaker, account_id: str, query: TransactionQuery,
                            with_actor: bool = False) -> dict:
    async with sessions() as session:
        page = await transactions_page(session, account_id, query.filters, query.limit + 1, query.after)
    more = len(page) > query.limit
    page = page[:query.limit]
    return {"data": [_entry(t, with_actor) for t in page], "has_more": more,
            "next_cursor": page[-1].position.encode() if more else None}


def _entry(t: Transaction, with_actor: bool) -> dict:
    entry = {"id": t.id, "kind": t.kind, "amount_usd": units_to_usd_str(t.amount_units),
             "balance_effect": _effect(t.amount_units), "note": t.note,
             "request_id": t.request_id if t.kind == "usage" else None,
             "expires_at": _iso(t.expires_at), "created_at": t.created_at.isoformat()}
    if with_actor:
        entry["actor"] = t.actor
    return entry


def transactions_csv(sessions: async_sessionmaker, account_id: str, filters: TransactionFilter) -> AsyncIterator[str]:
    """Every matching entry, newest first, read a page at a time."""
    async def page_after(after: Position | None) -> list[Transaction]:
        async with sessions() as session:
            return await transactions_page(session, account_id, filters, PAGE_SIZE, after)

    return paged_csv(CSV_COLUMNS, page_after, _csv_row, lambda t: t.position)


def _csv_row(t: Transaction) -> list:
    return [t.id, t.created_at.isoformat(), t.kind, units_to_usd_str(t.amount_units), _effect(t.amount_units),
            t.note, t.request_id if t.kind == "usage" else None, _iso(t.expires_at)]


def _effect(units: int) -> str:
    return "credit" if units >= 0 else "debit"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
