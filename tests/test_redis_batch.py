"""Auto-pipelining (store/redis_batch.py) against the Redis on this machine: commands issued together
share one round trip, and each caller still gets its own reply, its own error, or the lost
connection's error."""

import asyncio
import secrets

import pytest
from redis.exceptions import ConnectionError, ResponseError

from alltoken.store.redis_batch import RedisBatcher
from alltoken.store.redis_client import open_redis

from .cluster import REDIS_URL


@pytest.fixture
async def client():
    made = open_redis(REDIS_URL)
    prefix = f"test-batch-{secrets.token_hex(4)}:"
    yield made, prefix
    keys = [key async for key in made.scan_iter(match=prefix + "*")]
    if keys:
        await made.delete(*keys)
    await made.aclose()


class CountingPipelines:
    """Counts the pipelines a batcher opens on its client."""

    def __init__(self, client):
        self.client, self.opened = client, 0

    def pipeline(self, **options):
        self.opened += 1
        return self.client.pipeline(**options)

    def __getattr__(self, name):
        return getattr(self.client, name)


async def test_commands_issued_together_share_a_round_trip_and_get_their_own_replies(client):
    redis, prefix = client
    counting = CountingPipelines(redis)
    batcher = RedisBatcher(counting)
    replies = await asyncio.gather(*(batcher.call("INCRBY", f"{prefix}n{i % 3}", i) for i in range(100)))
    assert counting.opened <= 2
    totals = {0: 0, 1: 0, 2: 0}
    for i, reply in enumerate(replies):
        totals[i % 3] += i
        assert reply == totals[i % 3]          # each caller sees the counter as its own command left it


async def test_one_failing_command_fails_only_its_caller(client):
    redis, prefix = client
    batcher = RedisBatcher(redis)
    await redis.set(prefix + "text", "not a number")
    good, bad = await asyncio.gather(batcher.call("INCR", prefix + "n"), batcher.call("INCR", prefix + "text"),
                                     return_exceptions=True)
    assert good == 1
    assert isinstance(bad, ResponseError) and "not an integer" in str(bad)


async def test_a_script_redis_does_not_know_is_loaded_and_run(client):
    redis, prefix = client
    batcher = RedisBatcher(redis)
    script = batcher.script(f"-- {prefix}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert await script(keys=[prefix + "s"], args=[5]) == 5
    await redis.script_flush()                         # as a restarted Redis would have forgotten it
    assert await script(keys=[prefix + "s"], args=[2]) == 7


async def test_a_batch_that_cannot_reach_redis_fails_every_caller():
    unreachable = open_redis("redis://127.0.0.1:1/0")
    batcher = RedisBatcher(unreachable)
    outcomes = await asyncio.gather(*(batcher.call("PING") for _ in range(5)), return_exceptions=True)
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes), outcomes
    await unreachable.aclose()


async def test_commands_issued_while_batches_are_in_flight_go_in_the_next(client):
    redis, prefix = client
    counting = CountingPipelines(redis)
    batcher = RedisBatcher(counting, max_in_flight=1, max_batch=10)
    replies = await asyncio.gather(*(batcher.call("RPUSH", prefix + "list", i) for i in range(35)))
    assert replies == list(range(1, 36))               # in the order they were issued
    assert counting.opened == 4                        # 10 + 10 + 10 + 5, one pipeline at a time
    assert await redis.lrange(prefix + "list", 0, -1) == [str(i) for i in range(35)]
