"""Shared circuit breakers against the Redis on this machine: one process opens a route's breaker and
the others skip it, exactly one process probes once the cooldown has passed, and its success closes
the breaker everywhere; without Redis each process keeps its own breaker."""

import asyncio
import secrets

import pytest
import pytest_asyncio

from alltoken.routing.health import BreakerSettings
from alltoken.routing.shared_breakers import SharedHealthBook
from alltoken.store.redis_client import open_redis

from .cluster import REDIS_URL

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROUTE = "primary/p-model"


@pytest_asyncio.fixture(loop_scope="session")
async def books():
    """`books(n, cooldown)`: n processes' breaker books on one Redis namespace, started."""
    prefix, made = f"test-{secrets.token_hex(4)}:", []

    async def make(count: int, cooldown: float = 300.0, url: str = REDIS_URL) -> list[SharedHealthBook]:
        settings = BreakerSettings(consecutive_failures=2, cooldown_seconds=cooldown, min_requests=1000)
        for _ in range(count):
            book = SharedHealthBook(settings, open_redis(url), prefix)
            await book.start()
            made.append(book)
        return made[-count:]

    yield make
    for book in made:
        await book.close()
        await book._redis.aclose()
    tidy = open_redis(REDIS_URL)
    await tidy.delete(*[key async for key in tidy.scan_iter(match=prefix + "*")] or ["none"])
    await tidy.aclose()


async def fail(book: SharedHealthBook, times: int = 2) -> None:
    for _ in range(times):
        book.record(ROUTE, False, 5, error="upstream_error")
    await asyncio.gather(*book._tasks)


async def _poll(check, timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return True
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)


async def test_a_breaker_opened_in_one_process_is_skipped_by_the_others(books):
    first, second, third = await books(3)
    assert await second.admit(ROUTE)
    await fail(first)
    assert not await first.admit(ROUTE)
    for other in (second, third):
        assert await _poll(lambda other=other: _refused(other), 2.0)
        assert other.snapshot(ROUTE)["breaker"] == "open"


async def _refused(book) -> bool:
    return not await book.admit(ROUTE)


async def test_after_the_cooldown_exactly_one_process_probes_and_its_success_closes_it_everywhere(books):
    first, second, third = await books(3, cooldown=0.3)
    await fail(first)
    assert await _poll(lambda: _refused(third), 2.0)
    await asyncio.sleep(0.35)
    admitted = [await book.admit(ROUTE) for book in (second, third, first)]
    assert admitted.count(True) == 1
    prober = (second, third, first)[admitted.index(True)]
    prober.record(ROUTE, True, 5)
    await asyncio.gather(*prober._tasks)
    for book in (first, second, third):
        assert await _poll(lambda book=book: book.admit(ROUTE), 2.0)
        assert book.snapshot(ROUTE)["breaker"] == "closed"


async def test_a_failed_probe_opens_it_again_everywhere(books):
    first, second = await books(2, cooldown=0.3)
    await fail(first)
    assert await _poll(lambda: _refused(second), 2.0)
    await asyncio.sleep(0.35)
    assert await second.admit(ROUTE)                     # second probes...
    second.record(ROUTE, False, 5, error="upstream_error")
    await asyncio.gather(*second._tasks)
    assert not await first.admit(ROUTE) and not await second.admit(ROUTE)   # ...and it is open again


async def test_a_probe_that_never_reached_the_route_lets_another_try(books):
    first, second = await books(2, cooldown=0.3)
    await fail(first)
    await asyncio.sleep(0.35)
    assert await _poll(lambda: second.admit(ROUTE), 2.0)
    assert not await first.admit(ROUTE)
    second.release_probe(ROUTE)
    await asyncio.gather(*second._tasks)
    assert await first.admit(ROUTE)


async def test_without_redis_each_process_keeps_its_own_breaker(books):
    (alone,) = await books(1, url="redis://127.0.0.1:1/1")
    assert await _poll(lambda: _unreachable(alone), 5.0)
    assert await alone.admit(ROUTE)
    await fail(alone)
    assert not await alone.admit(ROUTE)


async def _unreachable(book) -> bool:
    return not book._reachable


async def test_a_process_started_later_finds_the_open_breakers_without_the_message(books):
    first, = await books(1)
    await fail(first)
    late, = await books(1)                              # subscribed after the open was published
    assert await _poll(lambda: _refused(late), 2.0)
    assert await first._redis.smembers(first._index) == {ROUTE}


async def test_a_breaker_that_expired_in_redis_leaves_the_index_and_the_mirrors(books):
    first, second = await books(2)
    await fail(first)
    assert await _poll(lambda: _refused(second), 2.0)
    await first._redis.delete(first._keys + ROUTE)      # as its key's expiry would
    await second._refresh_all()
    assert await second.admit(ROUTE)
    assert await first._redis.smembers(first._index) == set()
