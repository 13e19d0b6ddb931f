"""The billing hold: a failed or disputed card payment suspends API access until the balance is restored.

Restored means: a card payment (not itself disputed) succeeds while the account is held, and after its
credit the balance is 0 USD or more. Setting or lifting the hold writes a change event, so every running
server drops its cached account within a second. An admin's suspension (accounts.status) is separate.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from alltoken import audit
from alltoken.billing.ledger import balance_units
from alltoken.ids import utcnow
from alltoken.store.changes import record_change
from alltoken.store.models import Account

PAYMENT_FAILED = "payment_failed"
PAYMENT_DISPUTED = "payment_disputed"


async def set_hold(session: AsyncSession, account_id: str, code: str, reason: str) -> None:
    account = await session.get_one(Account, account_id)
    if account.billing_hold is None:
        account.billing_hold_since = utcnow()
    account.billing_hold, account.billing_hold_reason = code, reason   # the latest reason is the one to show
    await record_change(session, "account", account_id)
    await audit.record(session, "stripe", "billing_hold.set", account_id, {"code": code, "reason": reason})


async def lift_hold_if_restored(session: AsyncSession, account_id: str) -> bool:
    account = await session.get_one(Account, account_id)
    if account.billing_hold is None or await balance_units(session, account_id) < 0:
        return False
    account.billing_hold = account.billing_hold_reason = account.billing_hold_since = None
    await record_change(session, "account", account_id)
    await audit.record(session, "stripe", "billing_hold.lift", account_id)
    return True
