"""Admin billing corrections on any account: adjustments, refunds, and its transactions."""

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, field_validator

from alltoken.accounts.service import get_account
from alltoken.billing import corrections
from alltoken.errors import NotFound
from alltoken.http.api.audited import Audited, Change
from alltoken.http.api.callers import AccountCaller, admin
from alltoken.http.api.ledger_views import TransactionQuery, transaction_query, transactions_json
from alltoken.http.errors import bad_request, not_found
from alltoken.http.gateway import gateway_of
from alltoken.money import units_to_usd_str

router = APIRouter(prefix="/admin/accounts", tags=["admin"])


class Correction(BaseModel):
    amount_usd: str = Field(description="USD as a decimal string, at most 12 decimal places")
    reason: str = Field(max_length=2000, description="Why; recorded with the entry and shown to the account")

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, reason: str) -> str:
        if not reason.strip():
            raise ValueError("a reason is required: it is recorded with the entry and shown to the account")
        return reason.strip()


class CorrectionView(BaseModel):
    entry_id: int
    account_id: str
    kind: str
    amount_usd: str = Field(description="Signed, as in the ledger: a refund is negative")
    reason: str
    actor: str
    balance_usd: str
    refundable_usd: str = Field(description="Unspent paid credit left, the most a refund may take now")


@router.post("/{account_id}/adjustments", response_model=CorrectionView, status_code=201)
async def post_adjustment(account_id: str, body: Correction, request: Request, audited: Audited,
                          caller: AccountCaller = Depends(admin)) -> CorrectionView:
    """Add (positive) or take back (negative) paid credit to correct a billing error. Not zero."""
    return await _correct(request, audited, caller.actor, corrections.adjust, account_id, body)


@router.post("/{account_id}/refunds", response_model=CorrectionView, status_code=201)
async def post_refund(account_id: str, body: Correction, request: Request, audited: Audited,
                      caller: AccountCaller = Depends(admin)) -> CorrectionView:
    """Record paid credit returned to the customer outside AllToken (positive amount). At most the
    account's unspent paid credit; promotional and consumed credit are not refundable."""
    return await _correct(request, audited, caller.actor, corrections.refund, account_id, body)


@router.get("/{account_id}/transactions")
async def account_transactions(account_id: str, request: Request, query: TransactionQuery = Depends(transaction_query),
                               _: AccountCaller = Depends(admin)) -> dict:
    """Any account's ledger entries, newest first, with the actor of each (as /api/billing/transactions)."""
    sessions = gateway_of(request).sessions
    async with sessions() as session:
        await _existing(session, account_id)
    return await transactions_json(sessions, account_id, query, with_actor=True)


async def _correct(request: Request, audited: Change, actor: str, write, account_id: str,
                   body: Correction) -> CorrectionView:
    state = gateway_of(request)
    try:
        async with audited.begin(actor) as tx:
            done = await write(tx.session, account_id, body.amount_usd, body.reason, actor)
            await tx.audit(f"credits.{done.entry.kind}", account_id,
                           {"amount_units": done.entry.amount_units, "reason": body.reason})
    except NotFound:
        raise _no_account(account_id) from None
    except corrections.RefundTooLarge as exc:
        raise bad_request(str(exc), param="amount_usd", code="refund_exceeds_paid_credit") from None
    except ValueError as exc:  # MoneyFormatError too
        raise bad_request(str(exc), param="amount_usd") from None
    await state.book.catch_up()  # this process spends with the new balance at once
    entry = done.entry
    return CorrectionView(entry_id=entry.id, account_id=account_id, kind=entry.kind,
                          amount_usd=units_to_usd_str(entry.amount_units), reason=entry.note, actor=entry.actor,
                          balance_usd=units_to_usd_str(done.balance_units),
                          refundable_usd=units_to_usd_str(done.refundable_units))


async def _existing(session, account_id: str) -> None:
    try:
        await get_account(session, account_id)
    except NotFound:
        raise _no_account(account_id) from None


def _no_account(account_id: str) -> NotFound:
    return not_found(f"no account {account_id}", param="account_id", code="account_not_found")
