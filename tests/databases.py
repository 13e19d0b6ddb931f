"""Databases for tests: a SQLite file and a PostgreSQL template migrated to head once a test process, then
copied for each gateway, cluster or `engine` that needs a new database (migrating one takes ~0.3 s on
SQLite and ~1.5 s on PostgreSQL). Each template is made by migrating an empty database, so every session
still runs every migration from the start on both."""

import asyncio
import atexit
import functools
import secrets
import shutil
import tempfile
import threading
from pathlib import Path

import asyncpg

from alltoken.store.db import create_engine
from alltoken.store.migrate import upgrade_to_head

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
_lock = threading.Lock()


def run_aside(coroutine):
    """Run `coroutine` to completion on a loop of its own thread: the caller may be inside a loop."""
    result: list = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(coroutine))
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return result[0]


def migrated_sqlite() -> Path:
    """A SQLite database at head, to copy (removed when the test process exits)."""
    with _lock:
        return _migrated_sqlite()


def postgres_template() -> str:
    """The name of a PostgreSQL database at head, to create databases from (dropped at exit)."""
    with _lock:
        return _postgres_template()


def postgres_url(name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


async def create_postgres_database(name: str, migrated: bool = True) -> None:
    """A new database `name`: a copy of the migrated template, or empty."""
    template = f' TEMPLATE "{postgres_template()}"' if migrated else ""
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{template}')
    finally:
        await admin.close()


async def drop_postgres_database(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@functools.cache
def _migrated_sqlite() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="alltoken-migrated-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "alltoken.db"
    run_aside(_migrate(f"sqlite:///{path}"))
    return path


@functools.cache
def _postgres_template() -> str:
    name = f"alltoken_test_template_{secrets.token_hex(4)}"
    run_aside(create_postgres_database(name, migrated=False))
    atexit.register(lambda: run_aside(drop_postgres_database(name)))
    run_aside(_migrate(postgres_url(name)))
    return name


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()   # a template must have no connections left when it is copied
