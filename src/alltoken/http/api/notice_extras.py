"""The notices an account sees besides its enforcement state: a billing hold after a failed or disputed
payment, and a material terms version it has yet to accept (with the end of its grace period)."""

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts import terms
from alltoken.accounts.service import get_account
from alltoken.ids import utcnow


class TermsOwed(BaseModel):
    version: str
    url: str | None
    must_accept_by: datetime


async def billing_and_terms(state, session: AsyncSession, account_id: str) -> dict:
    account = await get_account(session, account_id)
    latest = await terms.latest_acceptance(session, account_id)
    owed = state.terms.owed(latest[1].effective_at if latest else None, utcnow())
    record = await state.loaders.account(account_id)
    if record is not None and record.is_admin:   # administrators run the platform: not held to its terms
        owed = None
    return {"billing_hold": account.billing_hold, "billing_hold_reason": account.billing_hold_reason,
            "terms_owed": TermsOwed(version=owed.version, url=owed.url, must_accept_by=owed.deadline) if owed else None}
