"""Everything a running gateway process holds, opened at start and closed at shutdown."""

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from ..accounts.cache import AuthCache
from ..analytics.recorder import UsageRecorder
from ..billing.expiry import expiry_loop
from ..billing.reservations import LocalCreditBook
from ..config import Settings
from ..limits.local import LocalRateLimiter
from ..providers.base import Provider
from ..providers.registry import build_providers
from ..providers.transport import Transport
from ..routing import overrides
from ..routing.health import BreakerSettings, HealthBook
from ..routing.models import ModelTable, build_model_table
from ..store.db import create_engine, session_factory
from ..store.migrate import upgrade_to_head
from .loaders import Loaders
from .rate_limits import RateLimits
from .sync import CacheSync


@dataclass
class GatewayState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker
    transport: Transport
    providers: dict[str, Provider]
    models: ModelTable
    auth: AuthCache
    book: LocalCreditBook
    recorder: UsageRecorder
    sync: CacheSync
    health: HealthBook
    loaders: Loaders
    rate_limits: RateLimits
    schema_ready: bool = False
    _background: list[asyncio.Task] = field(default_factory=list, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> "GatewayState":
        """Everything that can fail on bad configuration fails here, before the server binds."""
        engine = create_engine(settings.database_url)
        sessions = session_factory(engine)
        transport = Transport(total_timeout=settings.upstream_timeout_seconds)
        providers = build_providers(settings.providers, transport)
        models = build_model_table(settings, providers)
        loaders = Loaders(sessions, settings.rate_limits)
        auth = AuthCache(loaders.key, loaders.account)
        book = LocalCreditBook(load_balance=loaders.balance, new_entries=loaders.ledger_entries)
        recorder = UsageRecorder(sessions, interval=settings.usage_flush_interval)
        sync = CacheSync(sessions, book, auth, interval=settings.cache_refresh_interval)
        health = HealthBook(BreakerSettings(**settings.breaker))
        state = cls(settings, engine, sessions, transport, providers, models, auth, book, recorder, sync, health,
                    loaders, RateLimits(LocalRateLimiter()))
        sync.on_routes_changed(lambda: overrides.refresh(state))
        return state

    async def start(self) -> None:
        if not self.schema_ready:  # `alltoken serve` migrates before binding; an embedding app may not have
            await upgrade_to_head(self.engine)
        await overrides.refresh(self)  # routes set at run time by an earlier process
        for provider in self.providers.values():
            await provider.start()
        await self.sync.start()
        self.recorder.start()
        self._background = [
            asyncio.create_task(expiry_loop(self.sessions, 60.0, self.book.catch_up), name="promo-expiry"),
            asyncio.create_task(overrides.price_schedule_loop(self), name="price-schedule"),
            asyncio.create_task(self.rate_limits.sweep_loop(), name="rate-limit-sweep"),
        ]

    async def close(self) -> None:
        """Runs after the server stopped taking requests and in-flight ones finished."""
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.recorder.close(deadline_seconds=self.settings.shutdown_grace_seconds)
        await self.sync.close()
        for provider in self.providers.values():
            await provider.close()
        await self.transport.close()
        await self.engine.dispose()
