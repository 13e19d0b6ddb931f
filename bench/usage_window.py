"""The window of usage at risk on a hard kill: how many requests whose response completed (the client
read the whole stream, up to [DONE]) have no usage record after the gateway is SIGKILLed under load.

    .venv/bin/python bench/usage_window.py                     # embedded (in-memory batches), 5 kills
    .venv/bin/python bench/usage_window.py --redis redis://127.0.0.1:6379/2

Each round starts `alltoken serve` on a fresh SQLite database (the demo provider, streams with a
delay between chunks), sends streaming requests from `--concurrency` clients, SIGKILLs the server
after `--kill-after` seconds, starts it again on the same database (with Redis, the new process
claims what the dead one left in the usage stream), stops it with SIGTERM, then compares the
completed requests with the usage records. A lost record's age is how long before the kill its
response completed: the largest one seen is the measured window.
"""

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

BODY = {"model": "alltoken/demo", "messages": [{"role": "user", "content": "count to five"}], "stream": True,
        "max_tokens": 20}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, workdir: Path, redis_url: str | None):
        self.port = free_port()
        config = workdir / "alltoken.yaml"
        config.write_text(json.dumps({"providers": [{"id": "demo", "type": "demo", "stream_delay_ms": 2}],
                                      "usage_claim_idle_seconds": 1.0}))
        self.env = {**os.environ, "ALLTOKEN_DATABASE_URL": f"sqlite:///{workdir}/alltoken.db",
                    "ALLTOKEN_CONFIG": str(config)}
        if redis_url:
            self.env.update(ALLTOKEN_REDIS_URL=redis_url, ALLTOKEN_REDIS_PREFIX=f"bench-{secrets.token_hex(4)}:")
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.workdir / "gateway.log").open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "alltoken.cli.main", "serve", "--port", str(self.port)],
                                        cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"gateway did not start; see {self.workdir}/gateway.log")

    def cli(self, *args: str) -> dict:
        out = subprocess.run([sys.executable, "-m", "alltoken.cli.main", "--json", *args], env=self.env, check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out)

    def key(self) -> str:
        account = self.cli("accounts", "create", "--email", f"bench-{secrets.token_hex(4)}@example.com")["id"]
        self.cli("credits", "grant", "--account", account, "--usd", "1000")
        return self.cli("keys", "create", "--account", account)["key"]

    def drop_redis_keys(self) -> None:
        client = redis.Redis.from_url(self.env["ALLTOKEN_REDIS_URL"])
        for key in client.scan_iter(match=self.env["ALLTOKEN_REDIS_PREFIX"] + "*", count=1000):
            client.delete(key)
        client.close()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


async def load(url: str, key: str, concurrency: int, kill_after: float, kill) -> tuple[dict[str, float], float]:
    """Completed request id -> when it completed; and when the kill happened (monotonic seconds)."""
    completed: dict[str, float] = {}
    stop = asyncio.Event()

    async def client(http: httpx.AsyncClient) -> None:
        while not stop.is_set():
            try:
                async with http.stream("POST", url + "/v1/chat/completions", json=BODY) as response:
                    text = (await response.aread()).decode()
                    if response.status_code == 200 and "[DONE]" in text:
                        completed[response.headers["x-request-id"]] = time.monotonic()
            except httpx.HTTPError:
                return

    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30,
                                 limits=httpx.Limits(max_connections=concurrency)) as http:
        clients = [asyncio.create_task(client(http)) for _ in range(concurrency)]
        await asyncio.sleep(kill_after)
        killed_at = time.monotonic()
        kill()
        stop.set()
        await asyncio.gather(*clients)
    return {rid: at for rid, at in completed.items() if at <= killed_at}, killed_at


def one_round(redis_url: str | None, concurrency: int, kill_after: float) -> tuple[int, int, float]:
    with tempfile.TemporaryDirectory(prefix="usage-window-") as tmp:
        server = Server(Path(tmp), redis_url)
        server.start()
        key = server.key()
        completed, killed_at = asyncio.run(load(f"http://127.0.0.1:{server.port}", key, concurrency, kill_after,
                                                server.kill))
        server.start()          # the next process on the same database (and Redis stream)
        time.sleep(3)           # past usage_claim_idle_seconds: it claims and writes what the dead one left
        server.stop()
        with sqlite3.connect(Path(tmp) / "alltoken.db") as db:
            recorded = {row[0] for row in db.execute("SELECT id FROM usage_records")}
        if redis_url:
            server.drop_redis_keys()
        lost = [killed_at - completed[rid] for rid in completed if rid not in recorded]
        return len(completed), len(lost), max(lost, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", help="Redis URL: measure the durable usage path instead of the embedded one")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--kill-after", type=float, default=3.0)
    args = parser.parse_args()
    print(f"path: {'redis stream' if args.redis else 'in-memory batches'}; {args.rounds} rounds, "
          f"{args.concurrency} clients, SIGKILL after {args.kill_after} s")
    total_done = total_lost = 0
    window = 0.0
    for number in range(1, args.rounds + 1):
        done, lost, oldest = one_round(args.redis, args.concurrency, args.kill_after)
        total_done, total_lost, window = total_done + done, total_lost + lost, max(window, oldest)
        print(f"round {number}: {done} completed before the kill, {lost} without a usage record"
              f"{f', the oldest completed {oldest * 1000:.0f} ms before the kill' if lost else ''}")
    print(f"total: {total_lost} of {total_done} completed requests lost their usage record; "
          f"largest window seen: {window * 1000:.0f} ms")


if __name__ == "__main__":
    main()
