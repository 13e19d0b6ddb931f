"""Database reads behind the hot-path caches (run on a cache miss only)."""

from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from ..accounts.cache import AccountRecord, KeyRecord
from ..billing.ledger import balance_units, entries_after
from ..limits.overrides import stored_overrides
from ..limits.policy import AccountLimits, Limits, Overrides, RateLimitSettings, resolve
from ..routing.policy import RoutingPolicy
from ..store.models import Account, ApiKey, UsageRecord, User


class Loaders:
    def __init__(self, sessions: async_sessionmaker, rate_limits: RateLimitSettings | None = None):
        self._sessions = sessions
        self._rate_limits = rate_limits or RateLimitSettings()

    async def key(self, secret_hash: str) -> tuple[KeyRecord, AccountRecord] | None:
        async with self._sessions() as session:
            row = (await session.execute(
                select(ApiKey, Account, _ADMIN).join(Account, Account.id == ApiKey.account_id)
                .where(ApiKey.secret_hash == secret_hash))).first()
            if row is None:
                return None
            key, account, is_admin = row
            overrides = await stored_overrides(session, key.id, account.id)
        limits = overrides.get(key.id, Overrides()).limits
        return _key_record(key, limits), self._account_record(account, is_admin, overrides.get(account.id))

    async def account(self, account_id: str) -> AccountRecord | None:
        async with self._sessions() as session:
            row = (await session.execute(select(Account, _ADMIN).where(Account.id == account_id))).first()
            if row is None:
                return None
            overrides = await stored_overrides(session, account_id)
        return self._account_record(*row, overrides.get(account_id))

    def _account_record(self, account: Account, is_admin: bool, overrides: Overrides | None) -> AccountRecord:
        return _account_record(account, is_admin, resolve(self._rate_limits, overrides, account.status))

    async def balance(self, account_id: str, up_to_id: int) -> int:
        async with self._sessions() as session:
            return await balance_units(session, account_id, up_to_id)

    async def key_spent_since(self, key_id: str, since: datetime) -> int:
        """What the key spent from `since` on (a budget period), from the usage records."""
        async with self._sessions() as session:
            total = await session.execute(select(func.coalesce(func.sum(UsageRecord.cost_units), 0))
                                          .where(UsageRecord.key_id == key_id, UsageRecord.created_at >= since))
        return int(total.scalar_one())

    async def ledger_entries(self, after_id: int) -> list[tuple[int, str, int, str | None]]:
        async with self._sessions() as session:
            return await entries_after(session, after_id)


def _key_record(key: ApiKey, rate_limits: Limits) -> KeyRecord:
    return KeyRecord(id=key.id, account_id=key.account_id, name=key.name, hint=key.hint,
                     models=frozenset(key.models) if key.models else None, limit_units=key.limit_units,
                     limit_reset=key.limit_reset,
                     spent_units=key.spent_units, created_at=key.created_at, expires_at=key.expires_at,
                     revoked=key.revoked_at is not None, rate_limits=rate_limits)


def _account_record(account: Account, is_admin: bool, rate_limits: AccountLimits) -> AccountRecord:
    return AccountRecord(id=account.id, status=account.status, status_reason=account.status_reason,
                         routing_policy=RoutingPolicy.from_json(account.routing_policy), is_admin=bool(is_admin),
                         credit_line_units=account.credit_line_units or 0, rate_limits=rate_limits)


_ADMIN = exists().where(User.account_id == Account.id, User.is_admin.is_(True)).label("is_admin")
