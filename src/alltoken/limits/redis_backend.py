"""Shared rate limiter (Redis): the same exact windows and gates as local.py, across every process.

Each check is one Lua script, so it is atomic however many processes ask at once: `admit` prunes,
checks every window and gate, and counts all of them or none.

- A window is a sorted set of its entries (member: a unique id, score: when it was counted), a hash
  of each entry's units (corrected by `adjust`), and their running sum. Like local.py it holds one
  entry per request counted in the last `seconds`: "at most N per window" holds exactly.
- A gate is a sorted set of leases (member: a holder id, score: when the lease runs out). This
  process renews its leases while it holds them; a crashed process's slots come back when its
  leases run out (LEASE_SECONDS), instead of never.

Times come from the Redis server's clock (TIME), so hosts whose clocks disagree still share one
window. Every key expires once nothing in it counts any more: nothing to sweep.
"""

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections import defaultdict
from collections.abc import Sequence

from redis.asyncio import Redis

from alltoken.background import stop_tasks
from alltoken.limits.base import Decision, Gate, Verdict, Window
from alltoken.store.redis_batch import RedisBatcher
from alltoken.store.redis_client import shared_state_calls

log = logging.getLogger("alltoken.limits")

LEASE_SECONDS = 60.0

# Lua's unpack() has a stack limit; entries are handled in batches of this many.
_LUA_PRELUDE = """
local function now_from(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local function prune(zset, units, total, seconds, now)
  local cutoff = now - seconds
  local gone = redis.call('ZRANGEBYSCORE', zset, '-inf', cutoff)
  if #gone > 0 then
    local freed = 0
    for first = 1, #gone, 1000 do
      local batch = {unpack(gone, first, math.min(first + 999, #gone))}
      for _, value in ipairs(redis.call('HMGET', units, unpack(batch))) do freed = freed + (tonumber(value) or 0) end
      redis.call('HDEL', units, unpack(batch))
    end
    redis.call('ZREMRANGEBYSCORE', zset, '-inf', cutoff)
    redis.call('DECRBY', total, freed)
  end
  return tonumber(redis.call('GET', total) or '0')
end
"""

_ADMIT = _LUA_PRELUDE + """
local now = now_from(ARGV[1])
local windows, gates = tonumber(ARGV[2]), tonumber(ARGV[3])
local used, fits, held, free = {}, {}, {}, {}
local allowed = true
for i = 1, windows do
  local at = 3 + (i - 1) * 4
  local limit, seconds, units = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  used[i] = prune(KEYS[i * 3 - 2], KEYS[i * 3 - 1], KEYS[i * 3], seconds, now)
  fits[i] = used[i] + units <= limit
  allowed = allowed and fits[i]
end
local gate_args = 3 + windows * 4
for j = 1, gates do
  local key, limit = KEYS[windows * 3 + j], tonumber(ARGV[gate_args + (j - 1) * 3 + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  held[j] = redis.call('ZCARD', key)
  free[j] = held[j] < limit
  allowed = allowed and free[j]
end
if allowed then
  for i = 1, windows do
    local at = 3 + (i - 1) * 4
    local seconds, units, member = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]), ARGV[at + 4]
    if units > 0 then
      local zset, hash, total = KEYS[i * 3 - 2], KEYS[i * 3 - 1], KEYS[i * 3]
      redis.call('ZADD', zset, now, member)
      redis.call('HSET', hash, member, units)
      used[i] = redis.call('INCRBY', total, units)
      local ttl = math.ceil(seconds * 1000) + 1000
      redis.call('PEXPIRE', zset, ttl)
      redis.call('PEXPIRE', hash, ttl)
      redis.call('PEXPIRE', total, ttl)
    end
  end
  for j = 1, gates do
    local at = gate_args + (j - 1) * 3
    local key, lease = KEYS[windows * 3 + j], tonumber(ARGV[at + 3])
    redis.call('ZADD', key, now + lease, ARGV[at + 2])
    redis.call('PEXPIRE', key, math.ceil(lease * 1000) + 1000)
    held[j] = held[j] + 1
  end
end
local reply = {allowed and 1 or 0}
for i = 1, windows do
  local at = 3 + (i - 1) * 4
  local limit, seconds, units = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local zset, hash = KEYS[i * 3 - 2], KEYS[i * 3 - 1]
  local wait = 0
  if not fits[i] then
    wait = seconds   -- never fits (more units than the limit): say the window, not forever
    if units <= limit then
      local entries = redis.call('ZRANGE', zset, 0, -1, 'WITHSCORES')
      local freed = 0
      for e = 1, #entries, 2 do
        freed = freed + (tonumber(redis.call('HGET', hash, entries[e])) or 0)
        if used[i] - freed + units <= limit then
          wait = math.max(tonumber(entries[e + 1]) + seconds - now, 0.001)
          break
        end
      end
    end
  end
  local newest = redis.call('ZRANGE', zset, -1, -1, 'WITHSCORES')
  local reset = 0
  if #newest > 0 then reset = tonumber(newest[2]) + seconds - now end
  table.insert(reply, fits[i] and 1 or 0)
  table.insert(reply, math.max(limit - used[i], 0))
  table.insert(reply, tostring(wait))
  table.insert(reply, tostring(reset))
end
for j = 1, gates do
  local limit = tonumber(ARGV[gate_args + (j - 1) * 3 + 1])
  table.insert(reply, free[j] and 1 or 0)
  table.insert(reply, math.max(limit - held[j], 0))
end
return reply
"""

# KEYS: zset, units, total. ARGV: entry, units. An entry already out of its window but not yet pruned
# may change too: pruning takes away what it counts then, so it makes no difference to what is left.
_ADJUST = """
local counted = tonumber(redis.call('HGET', KEYS[2], ARGV[1]))
if counted == nil then return 0 end
local change = math.max(tonumber(ARGV[2]), -counted)
redis.call('HINCRBY', KEYS[2], ARGV[1], change)
redis.call('INCRBY', KEYS[3], change)
return change
"""

# KEYS: gate. ARGV: now, lease, holders... (the ones this process still holds)
_RENEW = """
local t = redis.call('TIME')
local now = ARGV[1] ~= '' and tonumber(ARGV[1]) or tonumber(t[1]) + tonumber(t[2]) / 1000000
local lease = tonumber(ARGV[2])
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], math.ceil(lease * 1000) + 1000)
return 0
"""


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str, clock=None, lease_seconds: float = LEASE_SECONDS,
                 batcher: RedisBatcher | None = None):
        self._redis = redis
        self._prefix = prefix + "rl:"
        self._clock = clock                     # tests only; None: the Redis server's clock
        self._lease = lease_seconds
        batcher = batcher or RedisBatcher(redis)   # per-request scripts share round trips
        self._admit = batcher.script(_ADMIT)
        self._adjust = batcher.script(_ADJUST)
        self._renew = redis.register_script(_RENEW)
        self._held: dict[str, list[str]] = defaultdict(list)   # gate key -> this process's leases
        self._holder = f"{secrets.token_hex(6)}:"
        self._serial = itertools.count()
        self._renewing: asyncio.Task | None = None

    async def admit(self, windows: Sequence[Window], gates: Sequence[Gate]) -> Verdict:
        keys, args = [], [self._now(), len(windows), len(gates)]
        for ask in windows:
            keys += self._window_keys(ask.key)
            args += [ask.limit, ask.seconds, ask.units, ask.entry or self._new_id()]
        holders = [self._new_id() for _ in gates]
        for gate, holder in zip(gates, holders):
            keys.append(self._prefix + "g:" + gate.key)
            args += [gate.limit, holder, self._lease]
        async with shared_state_calls("rate limits"):
            reply = await self._admit(keys=keys, args=args)
        allowed = bool(reply[0])
        decisions = tuple(Decision(bool(reply[at]), ask.limit, int(reply[at + 1]),
                                   float(reply[at + 2]), float(reply[at + 3]))
                          for ask, at in zip(windows, range(1, 4 * len(windows), 4)))
        first_gate = 1 + 4 * len(windows)
        slots = tuple(Decision(bool(reply[at]), gate.limit, int(reply[at + 1]), 0.0 if reply[at] else 1.0)
                      for gate, at in zip(gates, range(first_gate, first_gate + 2 * len(gates), 2)))
        if allowed and gates:
            for gate, holder in zip(gates, holders):
                self._held[gate.key].append(holder)
            self._keep_renewing()
        return Verdict(allowed, decisions, slots)

    async def adjust(self, key: str, entry: str, units: int) -> None:
        async with shared_state_calls("rate limits"):
            await self._adjust(keys=self._window_keys(key), args=[entry, units])

    async def release(self, key: str) -> None:
        held = self._held.get(key)
        if not held:
            return
        holder = held.pop()
        if not held:
            del self._held[key]
        async with shared_state_calls("rate limits"):
            await self._redis.zrem(self._prefix + "g:" + key, holder)

    def sweep(self) -> None:
        """Nothing to do: Redis lets emptied windows and gates expire."""

    async def close(self) -> None:
        await stop_tasks(self._renewing)

    async def renew(self) -> None:
        """Push this process's leases out again (it is alive and its requests are still running)."""
        for key, holders in list(self._held.items()):
            if holders:
                await self._renew(keys=[self._prefix + "g:" + key], args=[self._now(), self._lease, *holders])

    def _keep_renewing(self) -> None:
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.get_running_loop().create_task(self._renew_loop(), name="rate-limit-leases")

    async def _renew_loop(self) -> None:
        while self._held:
            await asyncio.sleep(self._lease / 3)
            with contextlib.suppress(Exception):   # Redis away: try again; the leases last three rounds
                await self.renew()

    def _window_keys(self, key: str) -> list[str]:
        base = self._prefix + "w:" + key
        return [base, base + ":u", base + ":n"]

    def _new_id(self) -> str:
        return f"{self._holder}{next(self._serial)}"

    def _now(self) -> str:
        return repr(self._clock()) if self._clock is not None else ""
