"""Unauthenticated CPU exhaustion: sign-up is throttled per client address and in all (shared by every process
through Redis when configured), and password hashing runs in a bounded worker pool off the event loop that
refuses work at once when full, never queueing a backlog."""

import asyncio
import threading
import time

import httpx
import pytest
import yaml

from alltoken.accounts import passwords, sign_up_throttle
from alltoken.accounts.sign_up_throttle import SignUpThrottle
from alltoken.config import ConfigError, load_settings
from alltoken.config.sign_up import SignUpSettings
from alltoken.limits.local import LocalRateLimiter

from .cluster import cluster
from .harness import Gateway

PASSWORD = "correct horse battery"


def sign_up(url: str, peer: str) -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=peer), timeout=60) as client:
        return client.post(url + "/api/auth/signup",
                           json={"email": f"flood-{time.monotonic_ns()}@example.com", "password": PASSWORD})


def refused(answer: httpx.Response, limit_seconds: int) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"]["code"] == "sign_up_throttled"
    assert 0 < int(answer.headers["retry-after"]) <= limit_seconds


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    config = {"sign_up": {"per_address_per_hour": 3, "per_minute": 5}}
    gateway = Gateway(tmp_path_factory.mktemp("sign-up-throttle"), config).start()
    yield gateway
    gateway.stop()


def test_sign_ups_are_throttled_per_address_and_in_all(gateway):
    first = [sign_up(gateway.url, "127.0.0.41").status_code for _ in range(3)]
    assert first == [201] * 3
    refused(sign_up(gateway.url, "127.0.0.41"), 3600)                      # that address's hour is used up
    assert [sign_up(gateway.url, "127.0.0.42").status_code for _ in range(2)] == [201] * 2
    refused(sign_up(gateway.url, "127.0.0.43"), 60)                        # five in the minute, from anyone
    # Refused sign-ups made nothing.
    assert [entry["action"] for entry in gateway.cli("audit-log")].count("auth.signup") == 5


def test_the_sign_up_count_is_shared_by_every_process_through_redis(tmp_path):
    with cluster(tmp_path, size=2, config={"sign_up": {"per_address_per_hour": 2, "per_minute": 100}}) as nodes:
        assert sign_up(nodes[0].url, "127.0.0.44").status_code == 201
        assert sign_up(nodes[1].url, "127.0.0.44").status_code == 201
        refused(sign_up(nodes[0].url, "127.0.0.44"), 3600)
        refused(sign_up(nodes[1].url, "127.0.0.44"), 3600)


def test_the_sign_up_settings_are_checked(tmp_path):
    def load(section: dict):
        path = tmp_path / "alltoken.yaml"
        path.write_text(yaml.safe_dump({"sign_up": section}))
        return load_settings(str(path), env={})

    assert load({}).sign_up == SignUpSettings(per_address_per_hour=5, per_minute=30, email_verification=False)
    with pytest.raises(ConfigError, match="sign_up.per_minute"):
        load({"per_minute": 0})
    with pytest.raises(ConfigError, match="sign_up: expected a mapping"):
        load({"per_hour": 3})


async def test_the_hashing_pool_refuses_work_past_its_queue_at_once():
    """Two workers' worth of work: one running, one waiting; the third is refused without waiting for either."""
    pool = passwords._Pool(workers=1, max_waiting=1)
    release = threading.Event()
    running = [asyncio.ensure_future(pool.run(release.wait)) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(passwords.Busy):
        await pool.run(release.wait)
    release.set()
    assert await asyncio.gather(*running) == [True, True]
    assert await pool.run(lambda: "room again") == "room again"


async def test_hashing_runs_off_the_event_loop():
    """In the pool's own threads, never the event loop's; and it hashes and verifies as the blocking calls do."""
    worker = await passwords._pool.run(lambda: threading.current_thread())
    assert worker is not threading.current_thread() and worker.name.startswith("argon2")
    password_hash = await passwords.hash_off_loop(PASSWORD)
    assert passwords.verify(password_hash, PASSWORD)
    assert await passwords.verify_off_loop(password_hash, PASSWORD) is True
    assert await passwords.verify_off_loop(password_hash, "another password") is False
    assert await passwords.verify_off_loop(None, PASSWORD) is False


async def test_a_sign_up_given_back_frees_its_place():
    """What the route does when the hashing pool is full: the 429 for a busy server costs no sign-up."""
    throttle = SignUpThrottle(LocalRateLimiter(), SignUpSettings(per_address_per_hour=2, per_minute=100))
    first = await throttle.count("192.0.2.1")
    await throttle.count("192.0.2.1")
    with pytest.raises(sign_up_throttle.Throttled):
        await throttle.count("192.0.2.1")
    await throttle.give_back(first)
    await throttle.count("192.0.2.1")
    await throttle.count("192.0.2.2")            # another address has its own count
