"""Database reads behind the hot-path caches (run on a cache miss only)."""

from dataclasses import replace
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alltoken.accounts.cache import AccountRecord, KeyRecord, MemberRecord
from alltoken.accounts.networks import parse_networks
from alltoken.accounts.teams import member_spent_since
from alltoken.billing.expiry import expiring_grants, write_off_expired
from alltoken.billing.ledger import LedgerRow, balance_units, entries_after
from alltoken.billing.reservations import Expiring
from alltoken.config.rate_limits import Limits, RateLimitSettings
from alltoken.limits.overrides import stored_overrides
from alltoken.limits.policy import Overrides, resolve
from alltoken.routing.policy import RoutingPolicy
from alltoken.routing.restrictions import ModelRestrictions
from alltoken.store.models import (
    Account,
    AccountRestriction,
    ApiKey,
    TeamMember,
    TermsAcceptance,
    TermsVersion,
    UsageRecord,
    User,
)


class Loaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], rate_limits: RateLimitSettings | None = None):
        self._sessions = sessions
        self._rate_limits = rate_limits or RateLimitSettings()

    async def key(self, secret_hash: str) -> tuple[KeyRecord, AccountRecord] | None:
        """The key with this secret, or whose secret was this before its last rotation."""
        async with self._sessions() as session:
            row = (await session.execute(
                _ACCOUNT.add_columns(ApiKey, TeamMember).join(ApiKey, ApiKey.account_id == Account.id)
                .outerjoin(TeamMember, and_(TeamMember.account_id == ApiKey.account_id,
                                            TeamMember.user_id == ApiKey.user_id))
                .where(or_(ApiKey.secret_hash == secret_hash, ApiKey.previous_secret_hash == secret_hash)))).first()
            if row is None:
                return None
            account, is_admin, terms_version, restriction, key, member = row
            overrides = await stored_overrides(session, key.id, key.account_id)
        limits = overrides.get(key.id, Overrides()).limits
        return _key_record(key, member, limits), self._account_record(account, is_admin, terms_version, restriction,
                                                                      overrides.get(key.account_id))

    async def account(self, account_id: str) -> AccountRecord | None:
        async with self._sessions() as session:
            row = (await session.execute(_ACCOUNT.where(Account.id == account_id))).first()
            if row is None:
                return None
            overrides = await stored_overrides(session, account_id)
        account, is_admin, terms_version, restriction = row
        return self._account_record(account, is_admin, terms_version, restriction, overrides.get(account_id))

    def _account_record(self, account: Account, is_admin: bool, terms_version: str | None,
                        restriction: AccountRestriction | None, overrides: Overrides | None) -> AccountRecord:
        """With the rate limits in force: tier, the account's own overrides, and its state."""
        record = _account_record(account, is_admin, terms_version, restriction)
        return replace(record, rate_limits=resolve(self._rate_limits, overrides, account.status))

    async def balance(self, account_id: str, up_to_id: int) -> int:
        async with self._sessions() as session:
            return await balance_units(session, account_id, up_to_id)

    async def key_spent_since(self, key_id: str, since: datetime) -> int:
        """What the key spent from `since` on (a budget period), from the usage records."""
        async with self._sessions() as session:
            total = await session.execute(select(func.coalesce(func.sum(UsageRecord.cost_units), 0))
                                          .where(UsageRecord.key_id == key_id, UsageRecord.created_at >= since))
        return int(total.scalar_one())

    async def member_spent_since(self, account_id: str, user_id: str, since: datetime) -> int:
        async with self._sessions() as session:
            return await member_spent_since(session, account_id, user_id, since)

    async def ledger_entries(self, after_id: int) -> list[LedgerRow]:
        async with self._sessions() as session:
            return await entries_after(session, after_id)

    async def expiring_grants(self, account_id: str, up_to_id: int) -> Expiring:
        async with self._sessions() as session:
            return await expiring_grants(session, account_id, up_to_id)

    async def write_off_expired(self, account_id: str, up_to_id: int, in_flight_units: int,
                                now: datetime) -> list[int]:
        async with self._sessions.begin() as session:
            return await write_off_expired(session, account_id, now, up_to_id, in_flight_units)


def _key_record(key: ApiKey, member: TeamMember | None, rate_limits: Limits) -> KeyRecord:
    return KeyRecord(id=key.id, account_id=key.account_id, name=key.name, hint=key.hint,
                     models=frozenset(key.models) if key.models else None, limit_units=key.limit_units,
                     limit_reset=key.limit_reset,
                     spent_units=key.spent_units, created_at=key.created_at, expires_at=key.expires_at,
                     # a member's key whose membership is gone works no more (removal revokes it as well)
                     revoked=key.revoked_at is not None or (key.user_id is not None and member is None),
                     member=member_record(member) if member is not None else None,
                     networks=tuple(parse_networks(key.allowed_ips)) if key.allowed_ips else None,
                     retired_hash=key.previous_secret_hash, retired_until=key.previous_valid_until,
                     rate_limits=rate_limits)


def member_record(member: TeamMember) -> MemberRecord:
    return MemberRecord(user_id=member.user_id, role=member.role, limit_units=member.limit_units,
                        limit_reset=member.limit_reset, joined_at=member.created_at)


def _account_record(account: Account, is_admin: bool, terms_version: str | None,
                    restriction: AccountRestriction | None) -> AccountRecord:
    restrictions = ModelRestrictions.from_lists(
        restriction.allow_models, restriction.deny_models, restriction.allow_providers,
        restriction.deny_providers) if restriction else None
    policy = RoutingPolicy.from_json(account.routing_policy)
    if restrictions is not None and restrictions.providers is not None:
        policy = restrictions.providers.combined(policy)
    return AccountRecord(id=account.id, status=account.status, status_reason=account.status_reason,
                         routing_policy=policy, restrictions=restrictions, is_admin=bool(is_admin),
                         credit_line_units=account.credit_line_units or 0,
                         billing_hold=(account.billing_hold_reason or account.billing_hold) if account.billing_hold
                         else None,
                         terms_version=terms_version)


_ADMIN = exists().where(User.account_id == Account.id, User.is_admin.is_(True)).label("is_admin")
_ACCEPTED_TERMS = (select(TermsAcceptance.version).join(TermsVersion, TermsVersion.version == TermsAcceptance.version)
                   .where(TermsAcceptance.account_id == Account.id).order_by(TermsVersion.effective_at.desc())
                   .limit(1).correlate(Account).scalar_subquery().label("terms_version"))
# An account, whether it has an admin user, the newest terms version it accepted, its model restrictions.
_ACCOUNT = select(Account, _ADMIN, _ACCEPTED_TERMS, AccountRestriction).outerjoin(
    AccountRestriction, AccountRestriction.account_id == Account.id)
