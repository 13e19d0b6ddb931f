"""Auto-pipelining for the per-request Redis commands (credit holds, settlements, usage appends).

Every request makes a few Redis calls; sent one by one, each costs a round trip, and the system
calls and wake-ups of the round trips, on both sides, cost more CPU than the commands themselves.
A RedisBatcher queues the commands issued while its batches are on the wire (at most MAX_IN_FLIGHT)
and sends them all in the next one, a single pipelined round trip: under load a batch carries the
calls of many requests, at rest a lone call goes out on the next turn of the event loop. Each
caller still gets its own reply or its own error.

Scripts go as EVALSHA; a Redis that does not know a script (restarted, flushed) answers NOSCRIPT,
and that call alone loads the script and runs again.
"""

import asyncio
import hashlib
from collections.abc import Sequence

import redis.asyncio as redis
from redis.exceptions import ConnectionError, NoScriptError

MAX_BATCH = 512          # commands per pipeline; more wait for the next one
MAX_IN_FLIGHT = 2        # pipelines on the wire at once (each uses one pooled connection)


class RedisBatcher:
    def __init__(self, client: redis.Redis, *, max_batch: int = MAX_BATCH, max_in_flight: int = MAX_IN_FLIGHT):
        self._redis = client
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._queue: list[tuple[tuple, asyncio.Future]] = []
        self._in_flight: set[asyncio.Task] = set()
        self._flush_soon = False

    def submit(self, *command) -> asyncio.Future:
        """Queue one command; the future gets its reply (or its exception)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((command, future))
        if not self._flush_soon and len(self._in_flight) < self._max_in_flight:
            self._flush_soon = True
            loop.call_soon(self._flush)
        return future

    async def call(self, *command):
        return await self.submit(*command)

    def script(self, source: str) -> "BatchedScript":
        return BatchedScript(self, source)

    async def load_script(self, source: str) -> None:
        await self._redis.script_load(source)

    def _flush(self) -> None:
        self._flush_soon = False
        while self._queue and len(self._in_flight) < self._max_in_flight:
            batch, self._queue = self._queue[:self._max_batch], self._queue[self._max_batch:]
            task = asyncio.get_running_loop().create_task(self._send(batch))
            self._in_flight.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task) -> None:
        self._in_flight.discard(task)
        if self._queue and not self._flush_soon:
            self._flush_soon = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def _send(self, batch: list[tuple[tuple, asyncio.Future]]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for command, _ in batch:
                    pipe.execute_command(*command)
                replies = await pipe.execute(raise_on_error=False)
        except BaseException as exc:   # the connection failed (or shutdown): every caller gets the error
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else ConnectionError("shutting down"))
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), reply in zip(batch, replies):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)


class BatchedScript:
    """A Lua script run through a batcher (EVALSHA, loading it on NOSCRIPT)."""

    def __init__(self, batcher: RedisBatcher, source: str):
        self._batcher = batcher
        self._source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, keys: Sequence = (), args: Sequence = ()):
        command = ("EVALSHA", self.sha, len(keys), *keys, *args)
        try:
            return await self._batcher.call(*command)
        except NoScriptError:
            await self._batcher.load_script(self._source)
            return await self._batcher.call(*command)
