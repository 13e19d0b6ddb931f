"""Cache invalidation across processes, at once: a Redis pub/sub nudge on top of the change feed.

The change feed (store/changes.py) stays the record: a write appends an event in its own
transaction, and every process reads the events after its cursor. After such a commit, the writing
process publishes a nudge on `{prefix}changes`; every subscribed process then reads the feed at
once instead of at its next poll. The nudge carries nothing but "look now", so a lost or late one
costs only time: each process still polls the feed every `cache_refresh_interval` (the versioned
fallback), and reads it again whenever its subscription comes back after a break.
"""

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis

from alltoken.background import stop_tasks
from alltoken.store import change_signal

log = logging.getLogger("alltoken.sync")

RECONNECT_SECONDS = 1.0
LISTEN_SECONDS = 1.0


def channel(prefix: str) -> str:
    return prefix + "changes"


async def announce(redis: Redis, prefix: str) -> None:
    """Tell every process to read the change feed now (after a commit that appended to it)."""
    await redis.publish(channel(prefix), "1")


class ChangeBus:
    def __init__(self, redis: Redis, prefix: str, on_nudge: Callable[[], None]):
        self._redis = redis
        self._channel = channel(prefix)
        self._prefix = prefix
        self._on_nudge = on_nudge
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._lost = False

    def publish(self) -> None:
        """After a commit of this process (a sync callback: the send runs as its own task)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:   # a commit outside the event loop: the others find it at their next poll
            return
        task = loop.create_task(self._send())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def start(self) -> None:
        change_signal.add_listener(self.publish)
        self._task = asyncio.create_task(self._listen_forever(), name="change-bus")

    async def close(self) -> None:
        change_signal.remove_listener(self.publish)
        await stop_tasks(self._task)
        await asyncio.gather(*self._sending, return_exceptions=True)   # nudges already under way still go out

    async def _send(self) -> None:
        try:
            await announce(self._redis, self._prefix)
        except Exception as exc:   # the others find the change at their next poll
            log.warning("could not publish a change nudge: %s", type(exc).__name__)

    async def _listen_forever(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._lost:   # once per outage, not once per retry
                    log.warning("change subscription lost (%s); the change feed is still polled", type(exc).__name__)
                self._lost = True
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self) -> None:
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(self._channel)
            if self._lost:
                log.info("change subscription back")
                self._lost = False
            self._on_nudge()   # anything published while not subscribed: read the feed now
            while True:   # short reads: an idle subscription must not hit the client's socket timeout
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=LISTEN_SECONDS)
                if message is not None and message["type"] == "message":
                    self._on_nudge()
