"""Redemption codes: batches of codes worth an amount of credit, each usable a set number of times
(by different accounts), until an expiry. Each use happens exactly once, even when raced: the use
is a conditional decrement in the same transaction as the ledger entry.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.billing.ledger import grant
from alltoken.ids import new_id, utcnow
from alltoken.money import units_to_usd_str, usd_to_units
from alltoken.store.models import CodeRedemption, RedemptionCode

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I: codes are read and typed by people
_GROUPS, _GROUP_LENGTH = 4, 4


class CodeRefused(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Redeemed:
    amount_units: int
    entry_id: int


def normalize(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    return hashlib.sha256(normalize(code).encode()).hexdigest()


def _new_code() -> str:
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS))


async def create_codes(session: AsyncSession, usd: str, count: int = 1, uses: int = 1,
                       expires_at: datetime | None = None) -> list[str]:
    units = usd_to_units(usd)
    if units <= 0:
        raise ValueError("a code must be worth a positive amount")
    if not 1 <= count <= 10_000 or uses < 1:
        raise ValueError("count must be 1 to 10000 and uses at least 1")
    if expires_at is not None and expires_at <= utcnow():
        raise ValueError("expiry must be in the future")
    batch, now = new_id("batch_", 6), utcnow()
    codes = [_new_code() for _ in range(count)]
    session.add_all(RedemptionCode(code_hash=code_hash(c), hint=c[-4:], batch_id=batch, amount_units=units,
                                   uses_left=uses, expires_at=expires_at, created_at=now) for c in codes)
    return codes


async def redeem(session: AsyncSession, code: str, account_id: str) -> Redeemed:
    """Use the code for the account, or raise CodeRefused. Call inside a transaction, and let a
    refusal roll it back. The conditional decrement comes first: it takes the write lock (SQLite)
    or the row lock (PostgreSQL) at once, so racing redemptions queue instead of failing."""
    digest, now = code_hash(code), utcnow()
    codes = RedemptionCode.__table__
    taken = (await session.execute(
        update(codes).where(codes.c.code_hash == digest, codes.c.uses_left > 0,
                            or_(codes.c.expires_at.is_(None), codes.c.expires_at > now))
        .values(uses_left=codes.c.uses_left - 1).returning(codes.c.amount_units, codes.c.hint))).first()
    if taken is None:
        raise await _why_refused(session, digest, now)
    if await session.get(CodeRedemption, (digest, account_id)) is not None:
        raise CodeRefused("already_redeemed", "this account has already redeemed this code")
    amount_units, hint = taken
    entry = await grant(session, account_id, units_to_usd_str(amount_units, min_places=0), kind="promo",
                        note=f"code ...{hint}", actor="redemption")
    await session.flush()
    session.add(CodeRedemption(code_hash=digest, account_id=account_id, ledger_entry_id=entry.id, redeemed_at=now))
    await session.flush()
    return Redeemed(amount_units, entry.id)


async def _why_refused(session: AsyncSession, digest: str, now: datetime) -> CodeRefused:
    row = await session.get(RedemptionCode, digest)
    if row is None:
        return CodeRefused("invalid_code", "this code does not exist; check it for typos")
    if row.expires_at is not None and row.expires_at <= now:
        return CodeRefused("code_expired", f"this code expired at {row.expires_at.isoformat()}")
    return CodeRefused("code_used_up", "this code has been used as many times as it allows")
