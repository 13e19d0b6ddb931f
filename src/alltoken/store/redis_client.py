"""The Redis connection shared state lives on (rate limits, breakers, cache invalidation, credit book).

One client per process; its pool opens connections lazily, so building it never touches the
network and a Redis that is briefly away fails the calls that need it, not the process. Replies
are decoded to str. Every key and channel a feature uses starts with `settings.redis_prefix`, so
several deployments (or test clusters) can share one Redis server.
"""

from contextlib import asynccontextmanager

import redis.asyncio as redis
from redis.exceptions import ConnectionError, TimeoutError

# A call that cannot reach Redis fails fast (and the feature using it answers 503) instead of
# holding a request for the default minutes-long socket timeouts.
CONNECT_TIMEOUT_SECONDS = 2.0
SOCKET_TIMEOUT_SECONDS = 5.0


def open_redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
                                socket_timeout=SOCKET_TIMEOUT_SECONDS, health_check_interval=30)


class SharedStateUnavailable(Exception):
    """Redis could not be reached: what needs shared state fails closed (a 503) until it is back."""

    def __init__(self, what: str):
        super().__init__(f"{what}: the shared state store (Redis) is unreachable")
        self.what = what


@asynccontextmanager
async def shared_state_calls(what: str):
    """Redis calls for `what` (e.g. "rate limits"); a lost connection becomes SharedStateUnavailable."""
    try:
        yield
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise SharedStateUnavailable(what) from exc
