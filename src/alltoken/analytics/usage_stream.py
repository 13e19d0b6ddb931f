"""The durable usage path (with Redis): a completed request's usage record and charge survive a crash
of the process that served it.

`record()` appends the event to a Redis stream (XADD) through the process's RedisBatcher, which sends
the appends (and the credit book's calls) of concurrent requests in one pipelined round trip
(store/redis_batch.py). The response's final bytes wait for that append (runtime/durable_send.py), so a
client that saw the whole response knows its usage is in Redis. A writer in every process reads the
stream through one consumer group, writes batches to the database idempotently (usage id and ledger
request id are unique: analytics/recorder.write_usage) and only then acknowledges them (XACK, XDEL).
Entries a dead process had read but not written stay pending in the group; after `claim_idle`
seconds any other process claims them (XAUTOCLAIM) and writes them. At risk on a process crash:
nothing, as long as Redis keeps the entry (its own persistence settings decide that: docs/scale-out.md).

If the append fails (Redis away), the event goes to the in-memory batch recorder instead, with its
window at risk (analytics/recorder.py). Keys' last use is not money and stays on that path too.
"""

import asyncio
import logging
import os
import secrets
import socket
import time
from datetime import datetime
from functools import partial
from typing import Any

import orjson
import redis.asyncio as redis
from redis.exceptions import RedisError, ResponseError

from alltoken.analytics.events import UsageEvent
from alltoken.analytics.recorder import UsageRecorder, write_usage
from alltoken.background import stop_tasks
from alltoken.billing.ledger import Charge
from alltoken.store.redis_batch import RedisBatcher

log = logging.getLogger("alltoken.usage")

GROUP = "writers"
_RECENT_SECONDS = 60.0      # how long this process answers /v1/generation for a record not yet in the database


def encode(event: UsageEvent, charge: Charge | None) -> dict:
    fields = {"event": orjson.dumps({name: getattr(event, name) for name in event.__slots__})}
    if charge is not None and charge.written:
        fields["charge"] = orjson.dumps({"account_id": charge.account_id, "request_id": charge.request_id,
                                         "units": charge.units, "uncollected_units": charge.uncollected_units})
    return fields


def decode(fields: dict) -> tuple[UsageEvent, Charge | None]:
    values = orjson.loads(fields["event"])
    values["created_at"] = datetime.fromisoformat(values["created_at"])
    charge = fields.get("charge")
    return UsageEvent(**values), Charge(**orjson.loads(charge)) if charge else None


class DurableUsage:
    def __init__(self, client: redis.Redis, prefix: str, local: UsageRecorder, sessions, *, interval: float = 0.2,
                 claim_idle: float = 5.0, max_batch: int = 1000, batcher: RedisBatcher | None = None):
        self._redis = client
        self._batcher = batcher or RedisBatcher(client)
        self._stream = f"{prefix}usage"
        self._local = local
        self._sessions = sessions
        self._interval = interval
        self._claim_idle_ms = int(claim_idle * 1000)
        self._max_batch = max_batch
        self._consumer = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._appending: dict[str, asyncio.Future] = {}    # request id -> its XADD, until Redis answered
        self._recent: dict[str, tuple[float, UsageEvent]] = {}
        self._writer: asyncio.Task | None = None
        self._failing = False
        self._append_failing = False

    # The request side.

    def record(self, event: UsageEvent, charge: Charge | None = None) -> None:
        self._remember(event)
        fields = [part for pair in encode(event, charge).items() for part in pair]
        append = self._batcher.submit("XADD", self._stream, "*", *fields)
        self._appending[event.id] = append
        append.add_done_callback(partial(self._after_append, event, charge))

    def _after_append(self, event: UsageEvent, charge: Charge | None, append: asyncio.Future) -> None:
        self._appending.pop(event.id, None)
        error = append.exception()
        if error is None:
            if self._append_failing:
                log.info("usage stream reachable again")
            self._append_failing = False
            return
        if not self._append_failing:
            log.error("usage stream unreachable (%s): records go to the in-memory batch until it is back",
                      type(error).__name__)
        self._append_failing = True
        self._local.record(event, charge)

    async def appended(self, request_id: str) -> None:
        """Wait until the request's usage is in Redis (or, Redis away, queued in memory)."""
        append = self._appending.get(request_id)
        if append is not None:
            await asyncio.wait([append])   # never raises: a failed append went to the in-memory batch

    def pending(self, request_id: str) -> UsageEvent | None:
        seen = self._recent.get(request_id)
        return seen[1] if seen else self._local.pending(request_id)

    @property
    def unwritten(self) -> int:
        return self._local.unwritten + len(self._appending)

    def _remember(self, event: UsageEvent) -> None:
        now = time.monotonic()
        self._recent[event.id] = (now, event)
        while self._recent:
            oldest = next(iter(self._recent))
            if now - self._recent[oldest][0] < _RECENT_SECONDS:
                break
            del self._recent[oldest]

    # The writer side.

    def start(self) -> None:
        self._local.start()
        self._writer = asyncio.create_task(self._run(), name="usage-stream-writer")

    async def close(self, deadline_seconds: float = 30.0) -> None:
        if self._appending:
            await asyncio.wait(list(self._appending.values()), timeout=deadline_seconds / 2)
        await stop_tasks(self._writer)
        try:  # what this process read and did not write yet; anything left is claimed by another process
            await asyncio.wait_for(self.write_pending(own=True), timeout=deadline_seconds / 2)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            log.warning("left usage entries in the stream for another process: %s", type(exc).__name__)
        await self._local.close(deadline_seconds=deadline_seconds / 2)

    async def _run(self) -> None:
        last_claim = 0.0
        while True:
            try:
                await self._ensure_group()
                if time.monotonic() - last_claim >= self._claim_idle_ms / 2000:
                    last_claim = time.monotonic()
                    await self.write_pending(own=False)
                await self._write(await self._read_new())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis or the database away: the entries stay in the stream
                if not self._failing:
                    log.error("usage stream writer failing, retrying: %s", type(exc).__name__)
                self._failing = True
                await asyncio.sleep(self._interval)
            else:
                if self._failing:
                    log.info("usage stream writer recovered")
                self._failing = False

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _read_new(self) -> list[Any]:
        # redis-py types stream replies as the union of their RESP2 and RESP3 shapes; ours is RESP2's
        replies: Any = await self._redis.xreadgroup(GROUP, self._consumer, {self._stream: ">"}, count=self._max_batch,
                                               block=max(int(self._interval * 1000), 1))
        return replies[0][1] if replies else []

    async def write_pending(self, own: bool) -> int:
        """Write entries read but never acknowledged: this process's own (`own`), or any idle for
        longer than `claim_idle` (their reader died, or is stuck). Returns how many."""
        total, start = 0, "0-0"
        while True:
            if own:
                replies: Any = await self._redis.xreadgroup(GROUP, self._consumer, {self._stream: start},
                                                       count=self._max_batch)
                entries = replies[0][1] if replies else []
                start = entries[-1][0] if entries else start
                done = not entries
            else:
                claimed: Any = await self._redis.xautoclaim(self._stream, GROUP, self._consumer,
                                                                  self._claim_idle_ms, start, count=self._max_batch)
                start, entries, *_ = claimed
                done = start in ("0-0", b"0-0")
            await self._write(entries)
            total += len(entries)
            if done or not entries:
                return total

    async def _write(self, entries: list) -> None:
        if not entries:
            return
        decoded = [decode(fields) for _, fields in entries if fields]  # a deleted entry comes back empty
        if decoded:
            async with self._sessions.begin() as session:
                await write_usage(session, [event for event, _ in decoded],
                                  [charge for _, charge in decoded if charge is not None])
        ids = [entry_id for entry_id, _ in entries]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xack(self._stream, GROUP, *ids)
            pipe.xdel(self._stream, *ids)
            await pipe.execute()
        for event, _ in decoded:
            self._recent.pop(event.id, None)
