"""The running gateway: everything a server process holds, built in one place (`build`), opened
when the server starts (`open`) and closed when it stops (`close`), background tasks in one list."""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alltoken.accounts.cache import AuthCache
from alltoken.accounts.sign_up_throttle import SignUpThrottle
from alltoken.accounts.terms import UploadRights
from alltoken.analytics.recorder import UsageRecorder
from alltoken.analytics.usage_stream import DurableUsage
from alltoken.background import stop_tasks
from alltoken.billing.expiry import expiry_loop
from alltoken.billing.reservations import CreditBook, ShortfallTally
from alltoken.config import Settings
from alltoken.governance.retention import retention_loop
from alltoken.images.moderation_log import purge_loop
from alltoken.limits.local import LocalRateLimiter
from alltoken.limits.redis_backend import RedisRateLimiter
from alltoken.notifications.low_balance import low_balance_loop
from alltoken.notifications.outbox import outbox_loop
from alltoken.payments.service import TopUps
from alltoken.providers.base import Provider
from alltoken.providers.image_fetch import ImageFetchLimits
from alltoken.providers.registry import build_providers
from alltoken.providers.transport import Transport
from alltoken.routing import overrides
from alltoken.routing.health import BreakerSettings, HealthBook
from alltoken.routing.models import ModelTable, build_model_table
from alltoken.routing.shared_breakers import SharedHealthBook
from alltoken.runtime.exchange import OpenAdmissions
from alltoken.runtime.loaders import Loaders
from alltoken.runtime.origin import ClientOrigin
from alltoken.runtime.rate_limits import RateLimits
from alltoken.runtime.shared_billing import credit_book, usage_recorder
from alltoken.runtime.sync import CacheSync
from alltoken.runtime.terms_gate import TermsBook
from alltoken.store.db import create_engine, session_factory
from alltoken.store.migrate import upgrade_to_head
from alltoken.store.redis_batch import RedisBatcher
from alltoken.store.redis_client import open_redis
from alltoken.store.usage_partitions import keep_months_ahead


@dataclass(eq=False)
class Gateway:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    transport: Transport
    providers: dict[str, Provider]
    models: ModelTable                 # swapped whole when run-time routes change (routing/overrides.py)
    auth: AuthCache
    book: CreditBook
    recorder: UsageRecorder | DurableUsage
    sync: CacheSync
    health: HealthBook
    loaders: Loaders
    origin: ClientOrigin
    terms: TermsBook
    rate_limits: RateLimits
    sign_ups: SignUpThrottle
    topups: TopUps                     # card top-ups (payments/)
    upload_rights: UploadRights        # who gave the image-upload warranty (terms §4.8)
    redis: Redis | None = None         # shared state, when settings.redis_url is set (store/redis_client.py)
    admissions: OpenAdmissions = field(default_factory=OpenAdmissions)   # holds of requests in progress
    shortfalls: ShortfallTally = field(default_factory=ShortfallTally)   # settlements capped (metrics)
    schema_ready: bool = False         # `alltoken serve` migrates before binding; an embedding app may not have
    background: list[asyncio.Task[None]] = field(default_factory=list, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> "Gateway":
        """Everything that can fail on bad configuration fails here, before the server binds."""
        engine = create_engine(settings.database_url)
        sessions = session_factory(engine)
        transport = Transport(total_timeout=settings.upstream_timeout_seconds,
                              image_fetch=ImageFetchLimits(settings.images.max_fetched_images,
                                                           settings.images.max_fetched_bytes))
        providers = build_providers(settings.providers, transport)
        models = build_model_table(settings, providers)
        loaders = Loaders(sessions, settings.rate_limits)
        auth = AuthCache(loaders.key, loaders.account)
        redis = open_redis(settings.redis_url) if settings.redis_url else None
        batcher = RedisBatcher(redis) if redis else None   # one pipeline for every request's Redis calls
        book = credit_book(settings, redis, loaders, batcher)
        recorder = usage_recorder(settings, redis, sessions, auth.uses, batcher)
        sync = CacheSync(sessions, book, auth, interval=settings.cache_refresh_interval, redis=redis,
                         redis_prefix=settings.redis_prefix)
        breaker = BreakerSettings(**settings.breaker)
        health = SharedHealthBook(breaker, redis, settings.redis_prefix) if redis else HealthBook(breaker)
        terms = TermsBook(sessions, settings.terms.grace_days)
        limiter = RedisRateLimiter(redis, settings.redis_prefix, batcher=batcher) if redis else LocalRateLimiter()
        gateway = cls(settings=settings, engine=engine, sessions=sessions, transport=transport, providers=providers,
                      models=models, auth=auth, book=book, recorder=recorder, sync=sync, health=health,
                      loaders=loaders, origin=ClientOrigin(settings.regions), terms=terms,
                      rate_limits=RateLimits(limiter), sign_ups=SignUpThrottle(limiter, settings.sign_up),
                      topups=TopUps(settings.stripe, sessions, auth, book),
                      upload_rights=UploadRights(sessions, terms.current), redis=redis)
        sync.on_change("routes", lambda: overrides.refresh(gateway))
        sync.on_change("terms", terms.refresh)
        return gateway

    async def open(self) -> None:
        if not self.schema_ready:
            await upgrade_to_head(self.engine)
        await overrides.refresh(self)  # routes set at run time by an earlier process
        await self.terms.refresh()
        for provider in self.providers.values():
            await provider.start()
        await self.sync.start()
        await self.health.start()
        self.recorder.start()
        settings, sessions = self.settings, self.sessions
        self._run("promo-expiry", expiry_loop(sessions, 60.0, self.book.write_off_expired))
        self._run("price-schedule", overrides.price_schedule_loop(self))
        self._run("low-balance-alerts", low_balance_loop(settings, sessions, self.book))
        self._run("notifications-outbox", outbox_loop(settings, sessions))
        self._run("moderation-log-purge", purge_loop(sessions, settings.images.moderation_log_retention_days,
                                                     settings.images.purge_interval_seconds))
        self._run("retention-purge", retention_loop(self.engine, sessions, settings.retention))
        self._run("rate-limit-sweep", self.rate_limits.sweep_loop())
        self._run("usage-partitions", keep_months_ahead(sessions))
        if self.topups.enabled:
            self._run("auto-topup", self.topups.auto_topup_loop())

    def _run(self, name: str, loop: Coroutine[Any, Any, None]) -> None:
        self.background.append(asyncio.create_task(loop, name=name))

    async def close(self) -> None:
        """Runs after the server stopped taking requests and in-flight ones finished."""
        await stop_tasks(*self.background)
        await self.rate_limits.close()
        await self.recorder.close(deadline_seconds=self.settings.shutdown_grace_seconds)
        await self.book.close()
        await self.topups.close()
        await self.sync.close()
        await self.health.close()
        for provider in self.providers.values():
            await provider.close()
        await self.transport.close()
        self.origin.close()
        await self.engine.dispose()
        if self.redis is not None:
            await self.redis.aclose()
