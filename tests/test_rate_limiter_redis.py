"""The shared (Redis) rate limiter, against the Redis on this machine: the same exact windows, Retry-After,
corrections, slots and all-or-nothing as the in-process one (tests/test_rate_limiter.py), shared by
several limiters as by several processes, and slots of a crashed process coming back."""

import asyncio
import secrets

import pytest
import pytest_asyncio

from alltoken.errors import SharedStateUnavailable
from alltoken.limits.base import Gate
from alltoken.limits.redis_backend import RedisRateLimiter
from alltoken.store.redis_client import open_redis

from .cluster import REDIS_URL
from .limiter_helpers import Clock, window

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def make():
    """`make(clock=None, lease_seconds=60)`: a limiter on one Redis namespace shared by every one made."""
    prefix, clients = f"test-{secrets.token_hex(4)}:", []

    def limiter(clock=None, lease_seconds: float = 60.0) -> RedisRateLimiter:
        clients.append(open_redis(REDIS_URL))
        made = RedisRateLimiter(clients[-1], prefix, clock=clock, lease_seconds=lease_seconds)
        limiters.append(made)
        return made

    limiters: list[RedisRateLimiter] = []
    yield limiter
    for made in limiters:
        await made.close()
    keys = [key async for key in clients[0].scan_iter(match=prefix + "*")]
    if keys:
        await clients[0].delete(*keys)
    for client in clients:
        await client.aclose()


async def test_exactly_n_per_window_under_concurrency_across_limiters(make):
    limiters = [make() for _ in range(3)]
    verdicts = await asyncio.gather(*(limiters[i % 3].admit([window("k", 5)], []) for i in range(50)))
    assert sum(v.allowed for v in verdicts) == 5
    assert all(0 < v.windows[0].retry_after <= 60 for v in verdicts if not v.allowed)


async def test_window_slides_and_retry_after_is_when_it_fits(make):
    clock = Clock()
    limiter = make(clock)
    assert (await limiter.admit([window("k", 100, 60)], [])).allowed
    clock.now += 20
    second = await limiter.admit([window("k", 100, 30)], [])
    assert second.allowed and second.windows[0].remaining == 10 and second.windows[0].reset == 60.0
    refused = (await limiter.admit([window("k", 100, 20)], [])).windows[0]
    assert not refused.allowed and refused.remaining == 10 and abs(refused.retry_after - 40.0) < 1e-9
    assert abs(refused.reset - 60.0) < 1e-9
    clock.now += 40
    assert (await limiter.admit([window("k", 100, 20)], [])).allowed


async def test_adjust_corrects_an_estimate_both_ways_from_another_process(make):
    limiter, other = make(), make()
    await limiter.admit([window("t", 1000, 800, entry="r1")], [])
    await limiter.admit([window("t", 1000, 100, entry="r2")], [])
    await other.adjust("t", "r1", -500)
    assert (await limiter.admit([window("t", 1000, 600)], [])).windows[0].remaining == 0
    assert not (await limiter.admit([window("t", 1000, 1)], [])).allowed
    await limiter.adjust("t", "r2", -100)
    await limiter.adjust("t", "r2", 30)
    assert (await limiter.admit([window("t", 1000, 70)], [])).allowed
    assert not (await limiter.admit([window("t", 1000, 1)], [])).allowed


async def test_a_correction_stays_with_its_own_entry_as_the_window_slides(make):
    clock = Clock()
    limiter = make(clock)
    await limiter.admit([window("t", 1000, 800, entry="old")], [])
    clock.now += 30
    await limiter.admit([window("t", 1000, 100, entry="new")], [])
    await limiter.adjust("t", "old", -500)
    clock.now += 30
    assert (await limiter.admit([window("t", 1000, 900)], [])).allowed
    assert not (await limiter.admit([window("t", 1000, 1)], [])).allowed


async def test_an_adjustment_never_makes_an_entry_negative_nor_touches_a_gone_one(make):
    clock = Clock()
    limiter = make(clock)
    await limiter.admit([window("t", 100, 10, entry="r")], [])
    await limiter.adjust("t", "r", -50)
    assert (await limiter.admit([window("t", 100, 100)], [])).allowed
    clock.now += 61
    await limiter.adjust("t", "r", 40)
    assert (await limiter.admit([window("t", 100, 100)], [])).allowed


async def test_concurrency_slots_are_shared(make):
    limiter, other = make(), make()
    assert [(await limiter.admit([], [Gate("c", 2)])).allowed for _ in range(2)] == [True, True]
    assert not (await other.admit([], [Gate("c", 2)])).allowed
    await limiter.release("c")
    assert (await other.admit([], [Gate("c", 2)])).allowed


async def test_a_crashed_processes_slots_come_back_when_their_leases_run_out(make):
    clock = Clock()
    crashed, alive = make(clock, lease_seconds=30), make(clock, lease_seconds=30)
    assert (await crashed.admit([], [Gate("c", 1)])).allowed       # then it never releases nor renews
    assert (await alive.admit([], [Gate("c", 2)])).allowed
    clock.now += 20
    await alive.renew()                                             # a live holder keeps its slot
    clock.now += 15
    refused = await alive.admit([], [Gate("c", 2)])
    assert refused.allowed and refused.gates[0].remaining == 0      # the crashed slot is back; the live one held
    assert not (await alive.admit([], [Gate("c", 2)])).allowed


async def test_all_or_nothing_across_limits(make):
    limiter = make()
    assert (await limiter.admit([window("key", 2), window("account", 2)], [Gate("slots", 10)])).allowed
    assert (await limiter.admit([window("other-key", 2), window("account", 2)], [])).allowed
    refused = await limiter.admit([window("key", 2), window("account", 2)], [Gate("slots", 10)])
    assert not refused.allowed
    assert [d.allowed for d in refused.windows] == [True, False] and refused.gates[0].allowed
    assert [d.remaining for d in refused.windows] == [1, 0] and refused.gates[0].remaining == 9
    assert (await limiter.admit([window("key", 2)], [])).windows[0].remaining == 0
    assert (await limiter.admit([], [Gate("slots", 10)])).gates[0].remaining == 8


async def test_windows_and_gates_leave_no_keys_behind(make):
    clock = Clock()
    limiter = make(clock, lease_seconds=1)
    await limiter.admit([window("gone", 5, entry="e")], [Gate("g", 1)])
    ttls = [await limiter._redis.pttl(key) async for key in limiter._redis.scan_iter(match=limiter._prefix + "*")]
    assert len(ttls) == 4 and all(0 < ttl <= 61_000 for ttl in ttls)


async def test_unreachable_redis_is_a_clear_failure_not_an_admission():
    client = open_redis("redis://127.0.0.1:1/1")
    limiter = RedisRateLimiter(client, "test-unreachable:")
    with pytest.raises(SharedStateUnavailable, match="rate limits"):
        await limiter.admit([window("k", 5)], [])
    await client.aclose()
