"""Every rate-limit test of tests/test_rate_limits.py again, with the limits kept in Redis (the shared
backend a multi-process deployment uses): the same answers, headers and corrections."""

import secrets

import pytest
import redis

from .cluster import REDIS_URL
from .conftest import anthropic_config, openai_config
from .harness import Gateway
from .test_rate_limits import *  # noqa: F403 (the tests, run here against this module's `gateway`)
from .test_rate_limits import RATE_LIMITS


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_openai, fake_anthropic):
    providers = openai_config(fake_openai)["providers"] + anthropic_config(fake_anthropic)["providers"]
    prefix = f"test-{secrets.token_hex(4)}:"
    gateway = Gateway(tmp_path_factory.mktemp("ratelimits-redis"), {"providers": providers, "rate_limits": RATE_LIMITS},
                      env={"ALLTOKEN_REDIS_URL": REDIS_URL, "ALLTOKEN_REDIS_PREFIX": prefix})
    yield gateway.start()
    gateway.stop()
    with redis.Redis.from_url(REDIS_URL) as client:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
