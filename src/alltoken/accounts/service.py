"""Control-plane operations on accounts and keys (used by the CLI, later by the management API)."""

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts import keys
from alltoken.accounts.networks import parse_networks
from alltoken.errors import Conflict, NotFound
from alltoken.ids import new_id, utcnow
from alltoken.money import usd_to_units
from alltoken.periods import RESETS
from alltoken.store.changes import record_change
from alltoken.store.models import Account, ApiKey, TeamMember

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@localhost$")

# An erased account keeps its row (the ledger refers to it) with this status (governance/deletion.py).
DELETED_STATUS = "deleted"


def normalized_email(email: str) -> str:
    """Lower case, surrounding space removed; ValueError if it is not an email address."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ValueError(f"not an email address: {email!r}")
    return email


async def create_account(session: AsyncSession, email: str, name: str | None = None,
                         kind: str = "personal") -> Account:
    email = normalized_email(email)
    if (await session.execute(select(Account.id).where(Account.email == email))).first():
        raise Conflict(f"an account with email {email} already exists")
    account = Account(id=new_id("acct_", 8), email=email, name=name, status="active", kind=kind, created_at=utcnow())
    session.add(account)
    return account


async def get_account(session: AsyncSession, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account {account_id}")
    return account


@dataclass
class NewKey:
    row: ApiKey
    secret: str


def parse_limit(limit_usd: str | None, limit_reset: str | None, whose: str = "key") -> tuple[int | None, str | None]:
    """A spending limit as (units, reset): a positive USD amount, optionally reset daily, weekly or monthly."""
    limit_units = usd_to_units(limit_usd) if limit_usd is not None else None
    if limit_units is not None and limit_units <= 0:
        raise ValueError(f"a {whose} limit must be a positive USD amount")
    if limit_reset is not None and (limit_units is None or limit_reset not in RESETS):
        raise ValueError(f"a limit reset needs a limit in USD and one of {', '.join(RESETS)}")
    return limit_units, limit_reset


async def create_key(session: AsyncSession, account_id: str, *, name: str | None = None,
                     limit_usd: str | None = None, models: list[str] | None = None,
                     expires_at: datetime | None = None, limit_reset: str | None = None,
                     user_id: str | None = None, allowed_ips: list[str] | None = None) -> NewKey:
    """A key of the account; with `user_id`, a key of that team member (their limit applies to it)."""
    status = (await get_account(session, account_id)).status
    if status in ("deleted", "terminated"):
        raise Conflict(f"account {account_id} is {status}; it cannot have keys")
    if user_id is not None and await session.get(TeamMember, (account_id, user_id)) is None:
        raise NotFound(f"user {user_id} is not a member of {account_id}")
    if expires_at is not None and expires_at <= utcnow():
        raise ValueError("expiry must be in the future")
    limit_units, limit_reset = parse_limit(limit_usd, limit_reset)
    secret = keys.generate_key()
    row = ApiKey(id=new_id("key_", 8), account_id=account_id, name=name, secret_hash=keys.hash_key(secret),
                 hint=keys.hint(secret), models=models or None, limit_units=limit_units, limit_reset=limit_reset,
                 spent_units=0, user_id=user_id, created_at=utcnow(), expires_at=expires_at,
                 allowed_ips=[str(n) for n in parse_networks(allowed_ips)] if allowed_ips is not None else None)
    session.add(row)
    await record_change(session, "key", row.id)
    return NewKey(row, secret)


async def revoke_key(session: AsyncSession, key_id: str) -> ApiKey:
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await record_change(session, "key", key_id)
    return row


async def set_credit_line(session: AsyncSession, account_id: str, usd: str) -> Account:
    units = usd_to_units(usd)
    if units < 0:
        raise ValueError("a credit line is 0 or a positive USD amount")
    account = await get_account(session, account_id)
    account.credit_line_units = units
    await record_change(session, "account", account_id)
    return account


async def set_routing_policy(session: AsyncSession, account_id: str, policy: dict | None) -> Account:
    account = await get_account(session, account_id)
    account.routing_policy = policy
    await record_change(session, "account", account_id)
    return account
