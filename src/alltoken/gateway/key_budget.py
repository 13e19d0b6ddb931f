"""What a key has spent against its limit, in the current budget period (all time if it never resets)."""

from datetime import datetime

from ..accounts.cache import KeyRecord
from ..billing.periods import period_start


async def key_spend(state, key: KeyRecord, now: datetime) -> tuple[int, datetime | None]:
    """(spent, period start). The book knows it once the key was used in this period here;
    before that, a resetting limit counts the period's usage records, a plain one the key's total."""
    period = period_start(key.limit_reset, now)
    known = state.book.key_spent_units(key.id)
    if known is not None and state.book.key_period(key.id) == period:
        return known, period
    if period is None:
        return key.spent_units, None
    return await state.loaders.key_spent_since(key.id, period), period
