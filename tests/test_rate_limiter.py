"""The in-process rate limiter: exact windows under concurrency, correct Retry-After, corrections,
slots, and several limits counted all together or not at all."""

import asyncio

from alltoken.limits.base import Gate
from alltoken.limits.local import LocalRateLimiter

from .limiter_helpers import Clock, window


async def test_exactly_n_per_window_under_concurrency():
    limiter = LocalRateLimiter()
    verdicts = await asyncio.gather(*(limiter.admit([window("k", 5)], []) for _ in range(50)))
    assert sum(v.allowed for v in verdicts) == 5
    assert all(v.windows[0].retry_after > 59 for v in verdicts if not v.allowed)


async def test_window_slides_and_retry_after_is_when_it_fits():
    clock = Clock()
    limiter = LocalRateLimiter(clock)
    assert (await limiter.admit([window("k", 100, 60)], [])).allowed
    clock.now += 20
    second = await limiter.admit([window("k", 100, 30)], [])
    assert second.allowed and second.windows[0].remaining == 10 and second.windows[0].reset == 60.0
    refused = (await limiter.admit([window("k", 100, 20)], [])).windows[0]
    assert not refused.allowed and refused.remaining == 10 and abs(refused.retry_after - 40.0) < 1e-9
    assert abs(refused.reset - 60.0) < 1e-9      # empty again when the newest entry leaves
    clock.now += 40
    assert (await limiter.admit([window("k", 100, 20)], [])).allowed  # the first 60 left the window


async def test_adjust_corrects_an_estimate_both_ways():
    limiter = LocalRateLimiter()
    await limiter.admit([window("t", 1000, 800, entry="r1")], [])   # estimated tokens
    await limiter.admit([window("t", 1000, 100, entry="r2")], [])
    await limiter.adjust("t", "r1", -500)                           # r1 used 300
    assert (await limiter.admit([window("t", 1000, 600)], [])).windows[0].remaining == 0
    assert not (await limiter.admit([window("t", 1000, 1)], [])).allowed
    await limiter.adjust("t", "r2", -100)
    await limiter.adjust("t", "r2", 30)                             # r2 used more than counted: count it
    assert (await limiter.admit([window("t", 1000, 70)], [])).allowed
    assert not (await limiter.admit([window("t", 1000, 1)], [])).allowed


async def test_a_correction_stays_with_its_own_entry_as_the_window_slides():
    clock = Clock()
    limiter = LocalRateLimiter(clock)
    await limiter.admit([window("t", 1000, 800, entry="old")], [])
    clock.now += 30
    await limiter.admit([window("t", 1000, 100, entry="new")], [])
    await limiter.adjust("t", "old", -500)
    clock.now += 30                     # "old" leaves with its 300; "new" still counts its 100
    assert (await limiter.admit([window("t", 1000, 900)], [])).allowed
    assert not (await limiter.admit([window("t", 1000, 1)], [])).allowed


async def test_an_adjustment_never_makes_an_entry_negative_nor_touches_a_gone_one():
    clock = Clock()
    limiter = LocalRateLimiter(clock)
    await limiter.admit([window("t", 100, 10, entry="r")], [])
    await limiter.adjust("t", "r", -50)
    assert (await limiter.admit([window("t", 100, 100)], [])).allowed
    clock.now += 61
    await limiter.adjust("t", "r", 40)
    assert (await limiter.admit([window("t", 100, 100)], [])).allowed


async def test_concurrency_slots():
    limiter = LocalRateLimiter()
    assert [(await limiter.admit([], [Gate("c", 2)])).allowed for _ in range(3)] == [True, True, False]
    await limiter.release("c")
    assert (await limiter.admit([], [Gate("c", 2)])).allowed


async def test_all_or_nothing_across_limits():
    limiter = LocalRateLimiter()
    assert (await limiter.admit([window("key", 2), window("account", 2)], [Gate("slots", 10)])).allowed
    assert (await limiter.admit([window("other-key", 2), window("account", 2)], [])).allowed
    refused = await limiter.admit([window("key", 2), window("account", 2)], [Gate("slots", 10)])
    assert not refused.allowed
    assert [d.allowed for d in refused.windows] == [True, False] and refused.gates[0].allowed
    # a refusal shows what is left now, without the refused request
    assert [d.remaining for d in refused.windows] == [1, 0] and refused.gates[0].remaining == 9
    # nothing was counted for the refused request: the key still has one left, the gate two taken of ten
    assert (await limiter.admit([window("key", 2)], [])).windows[0].remaining == 0
    assert (await limiter.admit([], [Gate("slots", 10)])).gates[0].remaining == 8


async def test_sweep_forgets_empty_windows_only():
    clock = Clock()
    limiter = LocalRateLimiter(clock)
    await limiter.admit([window("gone", 5)], [])
    clock.now += 30
    await limiter.admit([window("busy", 5)], [])
    clock.now += 31
    limiter.sweep()
    assert list(limiter._windows) == ["busy"]
