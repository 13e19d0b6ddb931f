"""Deleting an account at its owner's request: what goes at once, and what stays for how long.

At once, in one transaction: every key revoked (running servers drop them through the change feed),
personal data replaced by tombstones (emails, names, password hashes; the unique email is free for
a new account), usage records detached from keys. Kept: the ledger, for the legal retention period
counted from each entry's date (governance/retention.py purges it), and ids everywhere (accounting,
the audit log), which name no one once the tombstones are in.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts.service import DELETED_STATUS, get_account
from alltoken.analytics.rollups import detach_rollups
from alltoken.errors import Conflict
from alltoken.ids import utcnow
from alltoken.store.changes import record_change
from alltoken.store.models import (
    AccountDeletion,
    ApiKey,
    BalanceAlert,
    BillingProfile,
    EmailVerificationToken,
    PasswordResetToken,
    RateLimitSetting,
    TeamMember,
    UsageRecord,
    User,
    UserSession,
)

ERASED_PASSWORD = "!erased"          # not a hash any password verifies against


def tombstone_email(row_id: str) -> str:
    """Unique per row (the email columns are unique) and says nothing about the person."""
    return f"deleted-{row_id}@deleted.invalid"


@dataclass(frozen=True)
class Deletion:
    account_id: str
    deleted_at: datetime
    key_ids: list[str]        # every key of the account, now revoked


async def delete_account(session: AsyncSession, account_id: str, reason: str = "deleted at the owner's request",
                         now: datetime | None = None) -> Deletion:
    account = await get_account(session, account_id)
    if await session.get(AccountDeletion, account_id) is not None:
        raise Conflict(f"account {account_id} is already deleted")
    users = (await session.scalars(select(User).where(User.account_id == account_id))).all()
    if any(user.is_admin for user in users):
        raise ValueError(f"account {account_id} holds the platform's administrator; it cannot be deleted")
    now = now or utcnow()
    key_ids = list((await session.scalars(select(ApiKey.id).where(ApiKey.account_id == account_id))).all())
    await session.execute(update(ApiKey).where(ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None))
                          .values(revoked_at=now))
    await session.execute(update(ApiKey).where(ApiKey.account_id == account_id).values(name=None))
    for user in users:
        user.email, user.password_hash = tombstone_email(user.id), ERASED_PASSWORD
    account.email, account.name = tombstone_email(account.id), None
    account.status, account.status_reason = DELETED_STATUS, reason
    account.routing_policy, account.credit_line_units = None, 0
    await detach_usage(session, [account_id])
    await _drop_settings(session, account_id, [user.id for user in users], key_ids)
    session.add(AccountDeletion(account_id=account_id, deleted_at=now))
    for key_id in key_ids:
        await record_change(session, "key", key_id)
    await record_change(session, "account", account_id)
    return Deletion(account_id, now, key_ids)


async def _drop_settings(session: AsyncSession, account_id: str, user_ids: list[str], key_ids: list[str]) -> None:
    """What only serves a live account: console sessions, password reset and email verification links, team
    memberships (of its people, and of its team), the low-balance alert (an email address), the saved card and
    auto top-up, and its rate-limit settings. Payments stay: they are financial records, like the ledger."""
    await session.execute(delete(UserSession).where(UserSession.user_id.in_(user_ids)))
    for emailed_links in (PasswordResetToken, EmailVerificationToken):
        await session.execute(delete(emailed_links).where(emailed_links.user_id.in_(user_ids)))
    await session.execute(delete(TeamMember).where((TeamMember.account_id == account_id)
                                                   | TeamMember.user_id.in_(user_ids)))
    await session.execute(delete(BalanceAlert).where(BalanceAlert.account_id == account_id))
    await session.execute(delete(BillingProfile).where(BillingProfile.account_id == account_id))
    await session.execute(delete(RateLimitSetting).where(RateLimitSetting.subject_id.in_([account_id, *key_ids])))


async def detach_usage(session: AsyncSession, account_ids) -> None:
    """Usage records (and their rollups) keep their ids, account, model, tokens and cost (accounting), not which
    key made them.
    `account_ids`: a list, or a query of them."""
    await session.execute(update(UsageRecord)
                          .where(UsageRecord.account_id.in_(account_ids), UsageRecord.key_id.is_not(None))
                          .values(key_id=None).execution_options(synchronize_session=False))
    await detach_rollups(session, account_ids)
