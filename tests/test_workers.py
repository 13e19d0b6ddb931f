"""`alltoken serve --workers N` on PostgreSQL and Redis: N processes on one port that share their limits,
a SIGTERM that drains every one of them, and /health/ready and rate limits when Redis goes away
(503s naming it, then recovery without a restart)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .cluster import REDIS_URL, Cluster
from .conftest import openai_config
from .fakes.tcp_proxy import TcpProxy
from .harness import wait_for

pytestmark = pytest.mark.timeout(1200)   # starting processes on a busy machine takes a while

CHAT = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def workers_of(pid: int) -> list[int]:
    """The worker processes the supervisor `pid` started."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes()
            except (OSError, IndexError):
                continue
            if ppid == pid and b"spawn_main" in command:
                found.append(int(entry.name))
    return found


def limited_key(nodes, *limits: str) -> str:
    account = nodes.cli("accounts", "create", "--email", f"w-{time.monotonic_ns()}@example.com")["id"]
    nodes.cli("credits", "grant", "--account", account, "--usd", "10")
    made = nodes.cli("keys", "create", "--account", account)
    if limits:
        nodes.cli("limits", "set", "--key", made["id"], *limits)
    return made["key"]


def test_workers_share_one_port_limits_and_drain_together_on_sigterm(tmp_path, fake_openai):
    fake_openai.reset()
    nodes = Cluster(tmp_path, size=1, config=openai_config(fake_openai), serve_args=("--workers", "2")).start()
    try:
        gateway = nodes[0]
        workers = workers_of(gateway.process.pid)
        assert len(workers) == 2
        key = limited_key(nodes, "--rpm", "5")
        with ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(lambda _: httpx.post(gateway.url + "/v1/chat/completions", json=CHAT,
                                                          headers={"Authorization": f"Bearer {key}"},
                                                          timeout=60).status_code, range(20)))
        assert statuses.count(200) == 5 and statuses.count(429) == 15

        streamer = limited_key(nodes)
        fake_openai.plan(text=" ".join(f"word{i}" for i in range(30)), chunk_delay=0.05)
        received, started = [], threading.Event()

        def consume():
            with httpx.stream("POST", gateway.url + "/v1/chat/completions", json={**CHAT, "stream": True},
                              headers={"Authorization": f"Bearer {streamer}"}, timeout=60) as response:
                for line in response.iter_lines():
                    received.append(line)
                    if "word2" in line:
                        started.set()

        reader = threading.Thread(target=consume)
        reader.start()
        assert started.wait(30)
        assert gateway.stop(timeout=60) == 0
        reader.join(30)
        data = [line for line in received if line.startswith("data: ")]
        assert data[-1] == "data: [DONE]" and "word29" in "".join(data)
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
        streamed = nodes.sql("SELECT count(*) FROM usage_records WHERE streamed AND status = 'ok'")[0][0]
        assert streamed == 1
    finally:
        nodes.stop()


def test_redis_going_away_is_a_clear_503_and_coming_back_needs_no_restart(tmp_path, fake_openai):
    fake_openai.reset()
    target = httpx.URL(REDIS_URL)
    proxy = TcpProxy(target.host, target.port)
    redis_url = f"redis://127.0.0.1:{proxy.port}{target.path}"
    nodes = Cluster(tmp_path, size=1, config=openai_config(fake_openai), redis_url=redis_url).start()
    try:
        gateway = nodes[0]
        limited, unlimited = limited_key(nodes, "--rpm", "100"), limited_key(nodes)

        def chat(key: str) -> httpx.Response:
            return httpx.post(gateway.url + "/v1/chat/completions", json=CHAT,
                              headers={"Authorization": f"Bearer {key}"}, timeout=60)

        assert httpx.get(gateway.url + "/health/ready").json() == {"status": "ok", "database": "ok", "redis": "ok"}
        assert chat(limited).status_code == 200
        proxy.cut()
        ready = httpx.get(gateway.url + "/health/ready", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["database"] == "ok" and ready.json()["redis"] != "ok"
        refused = chat(limited)
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "shared_state_unavailable"
        # Without limits to count, the credit reservation still needs Redis: billing fails closed.
        unpaid = chat(unlimited)
        assert unpaid.status_code == 503 and unpaid.json()["error"]["code"] == "billing_unavailable"
        proxy.restore()
        assert wait_for(lambda: httpx.get(gateway.url + "/health/ready", timeout=30).status_code == 200, timeout=30)
        assert chat(limited).status_code == 200 and chat(unlimited).status_code == 200
    finally:
        nodes.stop()
        proxy.close()
