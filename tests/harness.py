"""The real gateway as a subprocess, and the real CLI, for end-to-end tests."""

import atexit
import functools
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import anthropic
import httpx
import openai
import yaml
from click.testing import CliRunner

from alltoken.cli.main import main as cli_main

from .databases import migrated_sqlite
from .fakes.server import free_port
from .zygote import ForkedProcess, Zygote

ALLTOKEN = [sys.executable, "-m", "alltoken.cli"]
# Seconds a gateway may take to become ready; raise it on a machine busy with other work.
START_TIMEOUT = float(os.environ.get("ALLTOKEN_TEST_START_TIMEOUT", "90"))
PORT_ATTEMPTS = 5
FORK = os.environ.get("ALLTOKEN_TEST_FORK", "1") != "0"   # gateways forked from a zygote (tests/zygote.py)


class Gateway:
    def __init__(self, workdir: Path, config: dict | None = None, env: dict | None = None):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.db_path = workdir / "alltoken.db"
        self.log_path = workdir / "gateway.log"
        self.config_path = workdir / "alltoken.yaml"
        # Tests that script upstream failures expect to see each one: no same-route retry, and no circuit
        # breaker opening on a module's worth of scripted failures, unless a test asks for them.
        # Tests sign up many users from one address, and email verification would stand between a sign-up and
        # its keys: neither holds a test up unless it asks (tests/test_sign_up_abuse.py does).
        quiet = {"route_retries": 0, "breaker": {"consecutive_failures": 10**6, "min_requests": 10**6},
                 "sign_up": {"per_address_per_hour": 10**6, "per_minute": 10**6, "email_verification": False}}
        self.config_path.write_text(yaml.safe_dump({**quiet, **(config or {})}))
        self.env = {**_clean_env(), "ALLTOKEN_DATABASE_URL": f"sqlite:///{self.db_path}",
                    "ALLTOKEN_CONFIG": str(self.config_path), **(env or {})}
        self.process: subprocess.Popen | ForkedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *serve_args: str, timeout: float = START_TIMEOUT) -> "Gateway":
        """Start `alltoken serve` and wait until it is ready. A port taken between its choice and the bind
        (by another test's process: ports are picked free, then bound seconds later) means another port."""
        self._seed_database()
        for _ in range(PORT_ATTEMPTS - 1):
            try:
                return self._start_once(serve_args, timeout)
            except PortTaken:
                self.port = free_port()
        return self._start_once(serve_args, timeout)

    def _start_once(self, serve_args: tuple[str, ...], timeout: float) -> "Gateway":
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        argv = ["serve", "--port", str(self.port), *serve_args]
        if FORK:
            self.process = zygote().spawn(argv, self.env, str(self.workdir), str(self.log_path))
        else:
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen([*ALLTOKEN, *argv], cwd=self.workdir, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT)
        if wait_for(lambda: self._ready(log_start), timeout):
            return self
        self.process.kill()                  # not left running behind the failed test
        self.process.wait()
        raise RuntimeError(f"gateway did not become ready:\n{self.log()}")

    def _seed_database(self) -> None:
        """A gateway on its own new SQLite file starts from a copy of a migrated database made once a test
        process, instead of migrating it at every start."""
        if self.env["ALLTOKEN_DATABASE_URL"] == f"sqlite:///{self.db_path}" and not self.db_path.exists():
            shutil.copyfile(migrated_sqlite(), self.db_path)

    def _ready(self, log_start: int) -> bool:
        """Whether the started server answers /health/ready; raises if it exited instead."""
        if self.process.poll() is not None:
            if self.process.returncode == 1 and _port_in_use(self.log()[log_start:]):
                raise PortTaken()
            raise RuntimeError(f"gateway exited with {self.process.returncode}:\n{self.log()}")
        try:
            return httpx.get(self.url + "/health/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout: float = 30) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cli(self, *args: str) -> dict:
        """Run an admin command against this gateway's database; returns its --json output.

        In-process (click's runner) for speed: the command is the same code a shell runs, and it
        talks to the running server only through the database, as the real CLI does."""
        result = CliRunner().invoke(cli_main, ["--json", *args], env=self.env, catch_exceptions=False)
        if result.exit_code != 0:
            raise CliError(result.exit_code, result.output)
        return json.loads(result.stdout)

    def new_key(self, usd: str = "10", **key_options) -> tuple[str, str]:
        """A fresh account with `usd` of credit, and a key for it: (account_id, secret)."""
        account = self.cli("accounts", "create", "--email", f"user-{time.monotonic_ns()}@example.com")["id"]
        if usd != "0":
            self.cli("credits", "grant", "--account", account, "--usd", usd)
        extra = [part for name, value in key_options.items() for part in (f"--{name.replace('_', '-')}", value)]
        return account, self.cli("keys", "create", "--account", account, *extra)["key"]

    def api(self, method: str, path: str, key: str, **kwargs) -> httpx.Response:
        """A management API call (`path` under /api) with `key` as its Bearer key."""
        return httpx.request(method, self.url + "/api" + path, headers={"Authorization": f"Bearer {key}"},
                             timeout=10, **kwargs)

    def admin_key(self) -> str:
        """A new API key of the administrator's account (made at first start), for /api/admin."""
        with sqlite3.connect(self.db_path) as db:
            (account,) = db.execute("SELECT account_id FROM users WHERE is_admin").fetchone()
        return self.cli("keys", "create", "--account", account)["key"]

    def balance(self, account: str) -> Decimal:
        return Decimal(self.cli("credits", "balance", "--account", account)["balance_usd"])

    def recorded_statuses(self, account: str) -> list[str]:
        """The status of each usage record of `account`, read from the database."""
        with sqlite3.connect(self.db_path) as db:
            return [row[0] for row in db.execute("SELECT status FROM usage_records WHERE account_id = ?", (account,))]

    # The official SDKs, with retries off so that a test sees each failure as the gateway answered it.

    def sdk(self, key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0)

    def anthropic_sdk(self, key: str) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.url, api_key=key, max_retries=0)


class PortTaken(Exception):
    """The gateway could not listen: another process took its port first."""


def _port_in_use(log: str) -> bool:
    # serve's own check, or uvicorn's bind when the port was taken in between
    return "address is in use" in log or "address already in use" in log


_zygote_lock = threading.Lock()


@functools.cache
def _zygote() -> Zygote:
    started = Zygote(_clean_env())
    atexit.register(started.close)
    return started


def zygote() -> Zygote:
    """This test process's zygote, started on first use."""
    with _zygote_lock:
        return _zygote()


class CliError(Exception):
    def __init__(self, code: int, stderr: str):
        super().__init__(f"exit {code}: {stderr}")
        self.code = code
        self.stderr = stderr


@contextmanager
def gateway_pair(workdir: Path, config: dict | None = None) -> Iterator[tuple[Gateway, Gateway]]:
    """Two server processes on one database, as a multi-process deployment runs them."""
    first = Gateway(workdir, config).start()
    second = Gateway(workdir, config)
    try:
        yield first, second.start()
    finally:
        second.stop()
        first.stop()


def everywhere(gateways, check, timeout: float = 1.0) -> bool:
    """`check(gateway)` holds in every one of the processes within `timeout` seconds (of a change)."""
    return wait_for(lambda: all(check(gateway) for gateway in gateways), timeout=timeout)


def _clean_env() -> dict:
    """No provider credentials leak in from the machine running the tests."""
    blocked = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY", "LLAMA_API_KEY",
               "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ALLTOKEN_REDIS_URL", "ALLTOKEN_WORKERS")
    return {k: v for k, v in os.environ.items() if k not in blocked}


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
