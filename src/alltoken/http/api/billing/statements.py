"""The caller's own billing history: transactions and monthly statements, as JSON and CSV.

Authenticated with the account's API key (Bearer); everything is scoped to that key's account."""


from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import StreamingResponse

from alltoken.billing.statements import Month, Statement, monthly_statement, months_with_activity
from alltoken.http.api.callers import AccountCaller, AccountScope
from alltoken.http.api.csv_export import csv_download, csv_line
from alltoken.http.api.ledger_views import TransactionQuery, transaction_query, transactions_csv, transactions_json
from alltoken.http.errors import bad_request
from alltoken.http.gateway import gateway_of
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_str

router = APIRouter(prefix="/billing", tags=["billing"])

MONTH_PATH = Path(description="A UTC calendar month, YYYY-MM, not in the future")



@router.get("/transactions")
async def list_transactions(request: Request, caller: AccountScope,
                            query: TransactionQuery = Depends(transaction_query)) -> dict:
    """The account's ledger entries, newest first; pass `next_cursor` back as `cursor` for the next page."""
    return await transactions_json(gateway_of(request).sessions, caller.account_id, query)


@router.get("/transactions.csv", response_class=StreamingResponse)
async def export_transactions(request: Request, caller: AccountScope,
                              query: TransactionQuery = Depends(transaction_query)) -> StreamingResponse:
    """Every entry matching the filters (kind, from, to; no paging), newest first, as CSV."""
    rows = transactions_csv(gateway_of(request).sessions, caller.account_id, query.filters)
    return csv_download(rows, f"transactions-{caller.account_id}.csv")


@router.get("/statements")
async def list_statements(request: Request, caller: AccountScope) -> dict:
    """The months, newest first, in which the account's ledger has entries."""
    now = utcnow()
    async with gateway_of(request).sessions() as session:
        months = await months_with_activity(session, caller.account_id, now)
    return {"data": [{"month": m.label, "complete": m.end <= now} for m in months]}


@router.get("/statements/{month}.csv", response_class=StreamingResponse)
async def statement_csv(request: Request, caller: AccountScope, month: str = MONTH_PATH):
    """The month's statement as CSV: opening balance, a line per kind, closing balance."""
    statement = await _statement(request, caller, month)
    label, account = statement.month.label, statement.account_id
    lines = [csv_line(("account_id", "month", "item", "amount_usd", "entries")),
             csv_line((account, label, "opening_balance", units_to_usd_str(statement.opening_units), "")),
             *(csv_line((account, label, kind, units_to_usd_str(total.units), total.entries))
               for kind, total in statement.totals.items()),
             csv_line((account, label, "closing_balance", units_to_usd_str(statement.closing_units), ""))]
    return csv_download(iter(["".join(lines)]), f"statement-{account}-{label}.csv")


@router.get("/statements/{month}")
async def statement_json(request: Request, caller: AccountScope, month: str = MONTH_PATH) -> dict:
    """The month's opening balance, totals per kind of entry, closing balance and requests charged."""
    statement = await _statement(request, caller, month)
    return {
        "account_id": statement.account_id, "month": statement.month.label,
        "from": statement.month.start.isoformat(), "to": statement.month.end.isoformat(),
        "complete": statement.complete,
        "opening_balance_usd": units_to_usd_str(statement.opening_units),
        "totals": {kind: {"amount_usd": units_to_usd_str(total.units), "entries": total.entries}
                   for kind, total in statement.totals.items()},
        "closing_balance_usd": units_to_usd_str(statement.closing_units),
        "requests": statement.requests,
    }


async def _statement(request: Request, caller: AccountCaller, text: str) -> Statement:
    now = utcnow()
    try:
        month = Month.parse(text, now)
    except ValueError as exc:
        raise bad_request(str(exc), param="month") from None
    async with gateway_of(request).sessions() as session:
        return await monthly_statement(session, caller.account_id, month, now)


