"""The in-process rate limiter: exact windows under concurrency, correct Retry-After, refunds, slots."""

import asyncio

from alltoken.limits.local import LocalRateLimiter


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


async def test_exactly_n_per_window_under_concurrency():
    limiter = LocalRateLimiter()
    decisions = await asyncio.gather(*(limiter.hit("k", 5, 60.0) for _ in range(50)))
    assert sum(d.allowed for d in decisions) == 5
    assert all(d.retry_after > 59 for d in decisions if not d.allowed)


async def test_window_slides_and_retry_after_is_when_it_fits():
    clock = Clock()
    limiter = LocalRateLimiter(clock)
    assert (await limiter.hit("k", 100, 60.0, units=60)).allowed
    clock.now += 20
    assert (await limiter.hit("k", 100, 60.0, units=30)).allowed
    refused = await limiter.hit("k", 100, 60.0, units=20)
    assert not refused.allowed and refused.remaining == 10 and abs(refused.retry_after - 40.0) < 1e-9
    clock.now += 40
    assert (await limiter.hit("k", 100, 60.0, units=20)).allowed  # the first 60 left the window


async def test_refund_corrects_an_estimate():
    limiter = LocalRateLimiter()
    await limiter.hit("t", 1000, 60.0, units=800)  # estimated tokens
    await limiter.refund("t", 500)                 # actual usage was 300
    assert (await limiter.hit("t", 1000, 60.0, units=700)).allowed
    assert not (await limiter.hit("t", 1000, 60.0, units=1)).allowed


async def test_concurrency_slots():
    limiter = LocalRateLimiter()
    assert [(await limiter.acquire("c", 2)).allowed for _ in range(3)] == [True, True, False]
    await limiter.release("c")
    assert (await limiter.acquire("c", 2)).allowed
