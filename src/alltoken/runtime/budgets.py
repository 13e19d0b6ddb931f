"""The budgets a request counts against, and what each has spent in its current period: the key's
own limit and, for a team member's key, the member's limit in the team.

Warm path: the credit book knows a budget's spend once it counted it in this period here; before
that (first use in this process, or a new period), the spend is read from the database once.
"""

from datetime import datetime

from alltoken.accounts.cache import KeyRecord, MemberRecord
from alltoken.billing.reservations import Budget
from alltoken.periods import member_period_start, period_start
from alltoken.runtime.gateway import Gateway


def key_scope(key: KeyRecord) -> tuple[str, ...]:
    return ("key", key.id)


def member_scope(account_id: str, user_id: str) -> tuple[str, ...]:
    return ("member", account_id, user_id)


async def key_spend(gateway: Gateway, key: KeyRecord, now: datetime) -> tuple[int, datetime | None]:
    """(spent, period start). Before the book knows it, a resetting limit counts the period's usage
    records, a plain one the key's total."""
    period = period_start(key.limit_reset, now)
    known = gateway.book.spent_in_period(key_scope(key), period)
    if known is not None:
        return known, period
    if period is None:
        return key.spent_units, None
    return await gateway.loaders.key_spent_since(key.id, period), period


async def member_spend(gateway: Gateway, account_id: str, member: MemberRecord,
                       now: datetime) -> tuple[int, datetime]:
    """(spent, since): the member's spend in the team since their period started (or they joined)."""
    since = member_period_start(member.limit_reset, member.joined_at, now)
    known = gateway.book.spent_in_period(member_scope(account_id, member.user_id), since)
    if known is not None:
        return known, since
    return await gateway.loaders.member_spent_since(account_id, member.user_id, since), since


async def request_budgets(gateway: Gateway, key: KeyRecord, now: datetime) -> list[Budget]:
    """The key's budget, and its member's when the member has a limit (unlimited members are not tracked)."""
    spent, period = await key_spend(gateway, key, now)
    budgets = [Budget(key_scope(key), key.limit_units, spent, period)]
    member = key.member
    if member is not None and member.limit_units is not None:
        spent, since = await member_spend(gateway, key.account_id, member, now)
        budgets.append(Budget(member_scope(key.account_id, member.user_id), member.limit_units, spent, since))
    return budgets
