"""Keeps this process's caches in step with the database: polls the ledger and the change feed.

This is how the CLI (another process) takes effect on a running server within one second:
a grant shows up in balances, a revoked key or a changed account drops out of the cache.
With Redis, a published nudge (runtime/change_bus.py) makes it read at once instead of at the
next tick; the tick stays, so a lost nudge only delays a change.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alltoken.accounts.cache import AuthCache
from alltoken.background import stop_tasks
from alltoken.billing import ledger
from alltoken.billing.reservations import CreditBook
from alltoken.runtime.change_bus import ChangeBus
from alltoken.store.changes import changes_after, latest_change

log = logging.getLogger("alltoken.sync")


class CacheSync:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], book: CreditBook, auth: AuthCache,
                 interval: float, redis: Redis | None = None, redis_prefix: str = ""):
        # entity -> async callback, for changes other than keys and accounts
        self._listeners: dict[str, Callable[[], Awaitable[None]]] = {}
        self._sessions = sessions
        self._book = book
        self._auth = auth
        self._interval = interval
        self._change_cursor = 0
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._nudged = asyncio.Event()
        self._bus = ChangeBus(redis, redis_prefix, self.nudge) if redis is not None else None

    def nudge(self) -> None:
        """Read the change feed now (another process has just committed a change)."""
        self._nudged.set()

    def on_change(self, entity: str, callback: Callable[[], Awaitable[None]]) -> None:
        self._listeners[entity] = callback

    async def start(self) -> None:
        async with self._sessions() as session:
            self._book.cursor = await ledger.latest_entry_id(session)
            self._change_cursor = await latest_change(session)
        self._task = asyncio.create_task(self._run(), name="cache-sync")
        if self._bus is not None:
            await self._bus.start()

    async def close(self) -> None:
        if self._bus is not None:
            await self._bus.close()
        await stop_tasks(self._task)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._nudged.wait(), self._interval)
            self._nudged.clear()
            try:
                await self.poll()
            except Exception as exc:  # the database may be briefly locked or away; try again next tick
                if not self._failing:
                    log.warning("cache sync failed, retrying: %s", type(exc).__name__)
                self._failing = True
            else:
                if self._failing:
                    log.info("cache sync recovered")
                self._failing = False

    async def poll(self) -> None:
        await self._book.catch_up()
        async with self._sessions() as session:
            for event_id, entity, entity_id in await changes_after(session, self._change_cursor):
                if entity == "key":
                    self._auth.drop_key(entity_id)
                elif entity == "account":
                    self._auth.drop_account(entity_id)
                elif entity in self._listeners:
                    await self._listeners[entity]()
                self._change_cursor = event_id
