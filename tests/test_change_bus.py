"""Cache invalidation nudges: a commit that appended to the change feed is announced (a rolled-back one
is not), and every subscribed process hears a nudge published by any other."""

import asyncio
import secrets

import pytest

from alltoken.runtime.change_bus import ChangeBus, announce
from alltoken.store import change_signal
from alltoken.store.changes import record_change
from alltoken.store.db import create_engine, session_factory
from alltoken.store.migrate import upgrade_to_head
from alltoken.store.redis_client import open_redis

from .cluster import REDIS_URL

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_only_a_committed_change_is_announced(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/store.db")
    await upgrade_to_head(engine)
    sessions, heard = session_factory(engine), []
    with change_signal.listening(lambda: heard.append(True)):
        async with sessions.begin() as session:
            await record_change(session, "key", "key_1")
        assert heard == [True]
        with pytest.raises(RuntimeError):
            async with sessions.begin() as session:
                await record_change(session, "key", "key_2")
                raise RuntimeError("rolled back")
        async with sessions.begin() as session:
            pass                                      # a commit that changed nothing in the feed
        assert heard == [True]
    await engine.dispose()


async def _until(check, timeout: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_every_subscriber_hears_a_nudge_from_any_process():
    prefix, clients = f"test-{secrets.token_hex(4)}:", [open_redis(REDIS_URL) for _ in range(3)]
    nudges = [[], []]
    buses = [ChangeBus(clients[i], prefix, lambda i=i: nudges[i].append(1)) for i in range(2)]
    for bus in buses:
        await bus.start()
    try:
        assert await _until(lambda: all(nudges))      # each reads the feed once on subscribing
        before = [len(n) for n in nudges]
        await announce(clients[2], prefix)            # e.g. the CLI, after its commit
        assert await _until(lambda: all(len(n) > b for n, b in zip(nudges, before)))
        other = f"test-{secrets.token_hex(4)}:"
        before = [len(n) for n in nudges]
        await announce(clients[2], other)             # another deployment's channel: not ours
        await announce(clients[2], prefix)
        assert await _until(lambda: all(len(n) == b + 1 for n, b in zip(nudges, before)))
    finally:
        for bus in buses:
            await bus.close()
        for client in clients:
            await client.aclose()
