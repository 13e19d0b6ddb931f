"""Circuit breakers shared by every process (Redis): a route one process opens is skipped by all.

Each process keeps its own rolling statistics (HealthBook) and decides from them when a route has
failed enough to open; the open/half-open/closed decision itself lives in Redis, one hash per open
route: `until` (server time when the cooldown ends) and `probe` (until when the one half-open
probe is out), and a set of the routes that have one (reading them all never scans the keyspace).
Opening, closing and claiming the probe are atomic scripts; an open or close is published on
`{prefix}breakers`, and every process keeps a mirror of the open routes, so a request to a healthy
route costs no Redis call. The mirror is also reloaded every MIRROR_REFRESH_SECONDS, so a lost
message only delays the change.

When Redis is unreachable, each process falls back to its own breakers (HealthBook): routing
keeps working, and breakers are per process until Redis is back.
"""

import asyncio
import logging
import time

from redis.asyncio import Redis

from alltoken.background import stop_tasks
from alltoken.routing.health import BreakerSettings, HealthBook

log = logging.getLogger("alltoken.routing")

MIRROR_REFRESH_SECONDS = 3.0   # under the client's socket timeout (store/redis_client.py)
RECONNECT_SECONDS = 1.0

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 "

# KEYS: breaker, index of open routes. ARGV: cooldown, channel, route. Opens (again): a new cooldown,
# no probe out.
_OPEN = _NOW + """
redis.call('HSET', KEYS[1], 'until', tostring(now + tonumber(ARGV[1])))
redis.call('HDEL', KEYS[1], 'probe')
redis.call('PEXPIRE', KEYS[1], math.ceil((tonumber(ARGV[1]) + 3600) * 1000))
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
"""

# KEYS: breaker, index of open routes. ARGV: channel, route.
_CLOSE = """
redis.call('SREM', KEYS[2], ARGV[2])
if redis.call('DEL', KEYS[1]) == 1 then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return 1
"""

# KEYS: breaker. ARGV: probe timeout. 'closed', 'probe' (the caller has it), 'busy' (another has it),
# or the seconds left of a cooldown (opened again meanwhile).
_CLAIM = _NOW + """
local ends = tonumber(redis.call('HGET', KEYS[1], 'until'))
if ends == nil then return 'closed' end
if ends > now then return tostring(ends - now) end
local probe = tonumber(redis.call('HGET', KEYS[1], 'probe'))
if probe ~= nil and probe > now then return 'busy' end
redis.call('HSET', KEYS[1], 'probe', tostring(now + tonumber(ARGV[1])))
return 'probe'
"""

# KEYS: breakers (any number). Seconds until each one's cooldown ends ('' when it is not open).
_READ = _NOW + """
local left = {}
for i, key in ipairs(KEYS) do
  local ends = tonumber(redis.call('HGET', key, 'until'))
  left[i] = ends and tostring(ends - now) or ''
end
return left
"""

# KEYS: index of open routes. ARGV: breaker key prefix. {route, seconds left, ...} for every route with a
# breaker; a route whose breaker expired leaves the index.
_READ_ALL = _NOW + """
local found = {}
for _, route in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local ends = tonumber(redis.call('HGET', ARGV[1] .. route, 'until'))
  if ends then
    found[#found + 1] = route
    found[#found + 1] = tostring(ends - now)
  else
    redis.call('SREM', KEYS[1], route)
  end
end
return found
"""


class SharedHealthBook(HealthBook):
    def __init__(self, settings: BreakerSettings, redis: Redis, prefix: str):
        super().__init__(settings)
        self._redis = redis
        self._keys = prefix + "breaker:"
        self._index = prefix + "breakers:open"
        self._channel = prefix + "breakers"
        self._open = redis.register_script(_OPEN)
        self._close = redis.register_script(_CLOSE)
        self._claim = redis.register_script(_CLAIM)
        self._read = redis.register_script(_READ)
        self._read_all = redis.register_script(_READ_ALL)
        self._mirror: dict[str, float] = {}     # open routes -> when (monotonic) their cooldown ends
        self._probing: set[str] = set()         # routes whose half-open probe this process holds
        self._tasks: set[asyncio.Task] = set()
        self._watcher: asyncio.Task | None = None
        self._reachable = True

    async def start(self) -> None:
        self._watcher = asyncio.create_task(self._watch_forever(), name="shared-breakers")

    async def close(self) -> None:
        await stop_tasks(self._watcher, *self._tasks)

    async def admit(self, key: str) -> bool:
        """May a request go to this route now? Open everywhere: no, until the cooldown has passed;
        then exactly one probe, in whichever process claims it first."""
        if not self._reachable:
            return self.allows(key)
        until = self._mirror.get(key)
        if until is None:
            return True
        if time.monotonic() < until:
            return False
        try:
            answer = await self._claim(keys=[self._keys + key], args=[self._settings.cooldown_seconds])
        except Exception:
            return self.allows(key)
        if answer == "closed":
            self._set_closed(key)
            return True
        if answer == "probe":
            self._probing.add(key)
            self.route(key).state = "half_open"
            return True
        if answer != "busy":
            self._mirror[key] = time.monotonic() + float(answer)
        return False

    def record(self, key: str, ok: bool, latency_ms: int, ttft_ms: int | None = None,
               output_tokens: int = 0, error: str | None = None) -> None:
        health = self.route(key)
        opened_before = health.opened_at
        super().record(key, ok, latency_ms, ttft_ms, output_tokens, error)
        probed = key in self._probing
        self._probing.discard(key)
        if ok and (probed or key in self._mirror):
            self._set_closed(key)
            self._spawn(self._close(keys=[self._keys + key, self._index], args=[self._channel, key]))
        elif not ok and (probed or health.opened_at != opened_before):
            health.state, health.opened_at = "open", self._clock()
            self._mirror[key] = time.monotonic() + self._settings.cooldown_seconds
            self._spawn(self._open(keys=[self._keys + key, self._index],
                                   args=[self._settings.cooldown_seconds, self._channel, key]))

    def release_probe(self, key: str) -> None:
        super().release_probe(key)
        if key in self._probing:
            self._probing.discard(key)
            self._spawn(self._redis.hdel(self._keys + key, "probe"))

    def _set_closed(self, key: str) -> None:
        self._mirror.pop(key, None)
        health = self.route(key)
        health.state, health.consecutive_failures = "closed", 0

    def _set_open(self, key: str, seconds_left: float) -> None:
        self._mirror[key] = time.monotonic() + seconds_left
        health = self.route(key)
        if health.state == "closed":
            health.state, health.opened_at = "open", self._clock()

    def _spawn(self, call) -> None:
        task = asyncio.get_running_loop().create_task(self._quietly(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _quietly(self, call) -> None:
        try:
            await call
        except Exception as exc:   # Redis away: this process's own breaker still holds it back
            log.warning("could not share a breaker change: %s", type(exc).__name__)

    async def _refresh(self, keys: list[str]) -> None:
        if keys:
            left = await self._read(keys=[self._keys + key for key in keys])
            self._mirror_states(dict(zip(keys, left)))

    async def _refresh_all(self) -> None:
        found = await self._read_all(keys=[self._index], args=[self._keys])
        self._mirror_states({**dict.fromkeys(self._mirror, ""), **dict(zip(found[::2], found[1::2]))})

    def _mirror_states(self, left: dict[str, str]) -> None:
        """Route -> seconds of cooldown left, as Redis answered ("": its breaker is closed)."""
        for key, seconds in left.items():
            if seconds == "":
                self._set_closed(key)
            else:
                self._set_open(key, float(seconds))

    async def _watch_forever(self) -> None:
        while True:
            try:
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._reachable:
                    log.warning("shared breakers unreachable (%s): each process uses its own until Redis is back",
                                type(exc).__name__)
                self._reachable = False
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _watch(self) -> None:
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(self._channel)
            await self._refresh_all()
            self._reachable = True
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=MIRROR_REFRESH_SECONDS)
                if message is None:
                    await self._refresh_all()
                elif message["type"] == "message":
                    await self._refresh([message["data"]])
