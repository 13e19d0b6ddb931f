"""Usage records and their charges, written off the hot path in batches.

A request appends one event (and its charge) to memory; a background task writes everything
queued in one transaction every `interval` seconds, with the last use (time, address) of each
key used since. A failed write keeps the batch and retries, so nothing is dropped; `close()`
writes what is left (SIGTERM path). On a hard kill, at most the last `interval` seconds of
records are at risk.
"""

import asyncio
import logging
from dataclasses import fields

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from alltoken.accounts.key_use import KeyUseLog
from alltoken.analytics.events import UsageEvent
from alltoken.analytics.rollups import add_to_rollups, daily_rollups
from alltoken.background import stop_tasks
from alltoken.billing.ledger import Charge, serialize_ledger_writes, write_charges
from alltoken.store.models import ApiKey, UsageRecord
from alltoken.store.upsert import insert_new

log = logging.getLogger("alltoken.usage")


_FIELDS = tuple(f.name for f in fields(UsageEvent))


class UsageRecorder:
    def __init__(self, sessions: async_sessionmaker, interval: float = 0.2, max_batch: int = 5000,
                 key_uses: KeyUseLog | None = None):
        self._sessions = sessions
        self._key_uses = key_uses or KeyUseLog()   # keys' last use (time, address), written with each batch
        self._interval = interval
        self._max_batch = max_batch
        self._events: list[UsageEvent] = []
        self._charges: list[Charge] = []
        self._recent: dict[str, UsageEvent] = {}   # queued or being written: readable before it lands
        self._task: asyncio.Task | None = None
        self._write_lock = asyncio.Lock()
        self._failing = False

    def record(self, event: UsageEvent, charge: Charge | None = None) -> None:
        self._events.append(event)
        self._recent[event.id] = event
        if charge is not None and charge.written:
            self._charges.append(charge)

    def pending(self, request_id: str) -> UsageEvent | None:
        return self._recent.get(request_id)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-recorder")

    @property
    def unwritten(self) -> int:
        return len(self._events)

    async def close(self, deadline_seconds: float = 30.0) -> None:
        """Stop the timer and write what is queued, retrying until the deadline."""
        await stop_tasks(self._task)
        self._task = None
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + deadline_seconds
        while self._events or self._charges or self._key_uses.waiting:
            if not await self.flush() and loop.time() >= give_up_at:
                log.error("giving up on %d usage records after %.0f s of failed writes", len(self._events),
                          deadline_seconds)
                return
            await asyncio.sleep(0 if not self._events else self._interval)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    async def flush(self) -> bool:
        """Write everything queued; True on success. On failure the batch stays queued."""
        async with self._write_lock:
            events, charges = self._events[: self._max_batch], self._charges[: self._max_batch]
            uses = self._key_uses.take()
            if not events and not charges and not uses:
                return True
            try:
                await self._write(events, charges, uses)
            except Exception as exc:  # keep the batch; the next tick retries
                self._key_uses.put_back(uses)
                if not self._failing:
                    log.error("usage write failed, retrying until it succeeds: %s", type(exc).__name__)
                self._failing = True
                return False
            if self._failing:
                log.info("usage writes recovered")
                self._failing = False
            del self._events[: len(events)]
            del self._charges[: len(charges)]
            for event in events:
                self._recent.pop(event.id, None)
            return True

    async def _write(self, events: list[UsageEvent], charges: list[Charge], uses: list[dict]) -> None:
        keys = ApiKey.__table__
        async with self._sessions.begin() as session:
            await write_usage(session, events, charges)
            if uses:
                await session.execute(update(keys).where(keys.c.id == bindparam("key"))
                                      .values(last_used_at=bindparam("at"), last_used_address=bindparam("address")),
                                      uses)


async def write_usage(session, events: list[UsageEvent], charges: list[Charge]) -> None:
    """Usage records, their rollups, charges and keys' spend, idempotently: an event already written
    (same id) is skipped everywhere, and a charge is written once per request id."""
    await serialize_ledger_writes(session)   # usage writers of every process, one at a time: see insert_new
    written = await insert_new(session, UsageRecord.__table__, [_row(e) for e in events], unique="id")
    events = [event for event in events if event.id in written]
    await add_to_rollups(session, daily_rollups(events))
    await write_charges(session, charges)
    spend = _key_spend(events)
    if spend:
        keys = ApiKey.__table__
        await session.execute(update(keys).where(keys.c.id == bindparam("key"))
                              .values(spent_units=keys.c.spent_units + bindparam("units")), spend)


def _row(event: UsageEvent) -> dict:
    """A shallow dict of the event (dataclasses.asdict deep-copies, which is slow at this rate)."""
    return {name: getattr(event, name) for name in _FIELDS}


def _key_spend(events: list[UsageEvent]) -> list[dict]:
    per_key: dict[str, dict] = {}
    for event in events:
        if event.key_id is None:
            continue
        row = per_key.setdefault(event.key_id, {"key": event.key_id, "units": 0})
        row["units"] += event.cost_units
    return list(per_key.values())
