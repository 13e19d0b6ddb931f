"""Which credit book and usage path a process uses: in-process ones by default (embedded, one
process), the Redis ones when redis_url is set, so balances, limits and usage hold across processes."""

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alltoken.accounts.key_use import KeyUseLog
from alltoken.analytics.recorder import UsageRecorder
from alltoken.analytics.usage_stream import DurableUsage
from alltoken.billing.redis_book import RedisCreditBook
from alltoken.billing.reservations import CreditBook, LocalCreditBook
from alltoken.config import Settings
from alltoken.runtime.loaders import Loaders
from alltoken.store.redis_batch import RedisBatcher

HOLD_MARGIN_SECONDS = 60.0   # a hold outlives the longest request by this much before it lapses


def credit_book(settings: Settings, redis: Redis | None, loaders: Loaders,
                batcher: RedisBatcher | None = None) -> CreditBook:
    if redis is None:
        return LocalCreditBook(load_balance=loaders.balance, new_entries=loaders.ledger_entries,
                               load_expiring=loaders.expiring_grants, write_off=loaders.write_off_expired)
    return RedisCreditBook(redis, settings.redis_prefix, loaders.balance, loaders.ledger_entries,
                           load_expiring=loaders.expiring_grants, write_off=loaders.write_off_expired,
                           hold_ttl=settings.upstream_timeout_seconds + HOLD_MARGIN_SECONDS, batcher=batcher)


def usage_recorder(settings: Settings, redis: Redis | None, sessions: async_sessionmaker[AsyncSession],
                   key_uses: KeyUseLog, batcher: RedisBatcher | None = None) -> UsageRecorder | DurableUsage:
    local = UsageRecorder(sessions, interval=settings.usage_flush_interval, key_uses=key_uses)
    if redis is None:
        return local
    return DurableUsage(redis, settings.redis_prefix, local, sessions, interval=settings.usage_flush_interval,
                        claim_idle=settings.usage_claim_idle_seconds, batcher=batcher)
