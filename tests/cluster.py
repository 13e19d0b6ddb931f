"""Several real gateway processes on one PostgreSQL database and one Redis, and a round-robin client.

    with cluster(tmp_path, size=3, config=openai_config(fake)) as nodes:
        account, key = nodes.new_key(usd="5")
        nodes.sdk(key).chat.completions.create(...)    # each call goes to the next process in turn

Each cluster gets a fresh PostgreSQL database and its own Redis key prefix (ALLTOKEN_REDIS_PREFIX), so
clusters of tests running at the same time on one Redis server do not see each other's state. Tests pick
their Redis database with ALLTOKEN_TEST_REDIS_URL (default db 1). The gateways are tests/harness.Gateway
processes; `cli`, `new_key`, `balance` run the real CLI against the cluster's database (and Redis).
"""

import itertools
import json
import os
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import openai
import redis
from click.testing import CliRunner

from alltoken.cli.main import main as cli_main

from .databases import create_postgres_database, drop_postgres_database, postgres_url, run_aside
from .harness import CliError, Gateway

START_TIMEOUT = 300   # a shared, busy test machine can take a while to start three processes
REDIS_URL = os.environ.get("ALLTOKEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


class Cluster:
    def __init__(self, workdir: Path, size: int = 3, config: dict | None = None, env: dict | None = None,
                 redis_url: str = REDIS_URL, serve_args: tuple[str, ...] = ()):
        token = secrets.token_hex(4)
        self.database = f"alltoken_cluster_{token}"
        self.database_url = postgres_url(self.database)
        self.redis_url = redis_url
        self.redis_prefix = f"test-{token}:"
        self.env = {"ALLTOKEN_DATABASE_URL": self.database_url, "ALLTOKEN_REDIS_URL": redis_url,
                    "ALLTOKEN_REDIS_PREFIX": self.redis_prefix, **(env or {})}
        self.gateways = [Gateway(workdir / f"node{index}", config, self.env) for index in range(size)]
        self.serve_args = serve_args   # e.g. ("--workers", "2")

    def __getitem__(self, index: int) -> Gateway:
        return self.gateways[index]

    def __len__(self) -> int:
        return len(self.gateways)

    @property
    def urls(self) -> list[str]:
        return [gateway.url for gateway in self.gateways]

    def start(self) -> "Cluster":
        run_aside(create_postgres_database(self.database))
        first, *rest = self.gateways
        first.start(*self.serve_args, timeout=START_TIMEOUT)   # makes the admin (the database is a migrated copy)
        with ThreadPoolExecutor(max(len(rest), 1)) as pool:
            list(pool.map(lambda gateway: gateway.start(*self.serve_args, timeout=START_TIMEOUT), rest))
        return self

    def stop(self) -> list[int]:
        """Stop every process (SIGTERM: they drain); their exit codes."""
        with ThreadPoolExecutor(len(self.gateways)) as pool:
            codes = list(pool.map(Gateway.stop, self.gateways))
        run_aside(drop_postgres_database(self.database))
        with self.redis() as client:
            keys = list(client.scan_iter(match=self.redis_prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
        return codes

    # The control plane: the real CLI against the cluster's database and Redis (any node's env will do).

    def cli(self, *args: str, redis: bool = True) -> dict:
        """`redis=False`: as a CLI that cannot reach Redis runs it (its change nudge is lost)."""
        if redis:
            return self.gateways[0].cli(*args)
        result = CliRunner().invoke(cli_main, ["--json", *args], env={**self.gateways[0].env, "ALLTOKEN_REDIS_URL": ""},
                                    catch_exceptions=False)
        if result.exit_code != 0:
            raise CliError(result.exit_code, result.output)
        return json.loads(result.stdout)

    def new_key(self, usd: str = "10", **key_options) -> tuple[str, str]:
        return self.gateways[0].new_key(usd, **key_options)

    def balance(self, account: str) -> Decimal:
        return self.gateways[0].balance(account)

    def admin_key(self) -> str:
        (account,) = self.sql("SELECT account_id FROM users WHERE is_admin")[0]
        return self.cli("keys", "create", "--account", account)["key"]

    def sql(self, query: str, *args) -> list[tuple]:
        """Rows of `query` against the cluster's database (asyncpg placeholders: $1, $2...)."""
        return run_aside(_fetch(self.database_url, query, args))

    def redis(self) -> redis.Redis:
        """A synchronous client of the cluster's Redis, to inspect or break shared state."""
        return redis.Redis.from_url(self.redis_url, decode_responses=True)

    # The data plane: every request goes to the next process in turn.

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(base_url="http://cluster", transport=RoundRobin(self.urls), headers=_auth(key),
                            timeout=30)

    def async_client(self, key: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url="http://cluster", transport=AsyncRoundRobin(self.urls),
                                 headers=_auth(key), timeout=60)

    def sdk(self, key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url="http://cluster/v1", api_key=key, max_retries=0,
                             http_client=httpx.Client(transport=RoundRobin(self.urls), timeout=30))

    def async_sdk(self, key: str) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url="http://cluster/v1", api_key=key, max_retries=0,
                                  http_client=httpx.AsyncClient(transport=AsyncRoundRobin(self.urls), timeout=60))


@contextmanager
def cluster(workdir: Path, size: int = 3, config: dict | None = None, env: dict | None = None,
            **options) -> Iterator[Cluster]:
    nodes = Cluster(workdir, size, config, env, **options)
    try:
        yield nodes.start()
    finally:
        nodes.stop()


class _Rotation:
    """The next gateway's address for each request (thread-safe: a load test sends from many threads)."""

    def __init__(self, urls: list[str]):
        self._urls = [httpx.URL(url) for url in urls]
        self._order = itertools.cycle(range(len(urls)))
        self._lock = threading.Lock()

    def aim(self, request: httpx.Request) -> None:
        with self._lock:
            target = self._urls[next(self._order)]
        request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        request.headers["Host"] = f"{target.host}:{target.port}"


class RoundRobin(httpx.BaseTransport):
    def __init__(self, urls: list[str]):
        self._rotation = _Rotation(urls)
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._rotation.aim(request)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class AsyncRoundRobin(httpx.AsyncBaseTransport):
    def __init__(self, urls: list[str]):
        self._rotation = _Rotation(urls)
        self._inner = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=1000))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._rotation.aim(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _auth(key: str | None) -> dict:
    return {"Authorization": f"Bearer {key}"} if key else {}


async def _fetch(url: str, query: str, args: tuple) -> list[tuple]:
    connection = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await connection.fetch(query, *args)]
    finally:
        await connection.close()
