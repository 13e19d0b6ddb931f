"""The Redis connection shared state lives on (rate limits, breakers, cache invalidation, credit book).

One client per process; its pool opens connections lazily, so building it never touches the
network and a Redis that is briefly away fails the calls that need it, not the process. Replies
are decoded to str. Every key and channel a feature uses starts with `settings.redis_prefix`, so
several deployments (or test clusters) can share one Redis server.
"""

from contextlib import asynccontextmanager

import redis.asyncio as redis
from redis.exceptions import ConnectionError, TimeoutError

from alltoken.errors import SharedStateUnavailable

# A call that cannot reach Redis fails fast (and the feature using it answers 503) instead of
# holding a request for the default minutes-long socket timeouts.
CONNECT_TIMEOUT_SECONDS = 2.0
SOCKET_TIMEOUT_SECONDS = 5.0


# A burst of requests waits for one of these connections (up to the socket timeout) instead of
# failing: redis-py's default pool raises MaxConnectionsError past 100 connections in use. Redis runs
# one command at a time, so a few dozen keep it busy; hundreds opened at once in a burst only time out
# connecting on a loaded host.
MAX_CONNECTIONS = 32


def open_redis(url: str) -> redis.Redis:
    pool = redis.BlockingConnectionPool.from_url(
        url, decode_responses=True, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS, health_check_interval=30, max_connections=MAX_CONNECTIONS,
        timeout=SOCKET_TIMEOUT_SECONDS)
    return redis.Redis.from_pool(pool)


@asynccontextmanager
async def shared_state_calls(what: str):
    """Redis calls for `what` (e.g. "rate limits"); a lost connection becomes SharedStateUnavailable."""
    try:
        yield
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise SharedStateUnavailable(what) from exc
