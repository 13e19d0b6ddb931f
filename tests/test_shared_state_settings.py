"""Which backends a process builds: in-process ones without redis_url, shared (Redis) ones with it,
under the configured key prefix."""

import asyncio

from alltoken.config import load_settings
from alltoken.limits.local import LocalRateLimiter
from alltoken.limits.redis_backend import RedisRateLimiter
from alltoken.routing.health import HealthBook
from alltoken.routing.shared_breakers import SharedHealthBook
from alltoken.runtime.gateway import Gateway


def test_redis_prefix_comes_from_the_file_or_the_environment(tmp_path):
    config = tmp_path / "alltoken.yaml"
    config.write_text("redis_prefix: 'prod-eu:'\n")
    assert load_settings(env={}).redis_prefix == "alltoken:"
    assert load_settings(str(config), env={}).redis_prefix == "prod-eu:"
    assert load_settings(str(config), env={"ALLTOKEN_REDIS_PREFIX": "staging:"}).redis_prefix == "staging:"


def test_without_redis_every_backend_is_in_process(tmp_path):
    state = Gateway.build(load_settings(env={"ALLTOKEN_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}))
    assert state.redis is None
    assert isinstance(state.rate_limits._limiter, LocalRateLimiter)
    assert type(state.health) is HealthBook
    asyncio.run(state.engine.dispose())


def test_with_redis_limits_and_breakers_are_shared_under_the_prefix(tmp_path):
    settings = load_settings(env={"ALLTOKEN_DATABASE_URL": f"sqlite:///{tmp_path}/a.db",
                                  "ALLTOKEN_REDIS_URL": "redis://127.0.0.1:6379/1",
                                  "ALLTOKEN_REDIS_PREFIX": "here:"})
    state = Gateway.build(settings)   # builds without connecting: the pool connects on first use
    assert state.redis is not None
    assert isinstance(state.rate_limits._limiter, RedisRateLimiter)
    assert state.rate_limits._limiter._prefix == "here:rl:"
    assert isinstance(state.health, SharedHealthBook) and state.health._channel == "here:breakers"
    asyncio.run(state.engine.dispose())
