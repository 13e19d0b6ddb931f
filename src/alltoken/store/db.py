"""Engine creation: one place that knows how URLs map to async drivers."""

import logging
import uuid

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

log = logging.getLogger("alltoken.store")

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


class DatabaseUrlError(ValueError):
    pass


def async_url(url: str) -> str:
    """Accept the plain spellings users write (sqlite:///x.db, postgresql://...) and pick our driver."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a vague message
        raise DatabaseUrlError(f"not a database URL: {url!r}") from exc
    if parsed.drivername == "postgres":
        parsed = parsed.set(drivername="postgresql")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    if "+" not in parsed.drivername:
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[parsed.drivername])
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str) -> AsyncEngine:
    full_url = async_url(url)
    # orjson for JSON columns, and the driver's own executemany for batches of usage rows:
    # both measured cheaper on the event loop than SQLAlchemy's defaults (bench/).
    common = dict(json_serializer=_json_dumps, use_insertmanyvalues=False)
    if full_url.startswith("sqlite"):
        engine = create_async_engine(full_url, connect_args={"timeout": 30}, **common)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(full_url, pool_size=10, max_overflow=10, pool_pre_ping=True,
                               connect_args=_pgbouncer_connect_args(full_url), **common)


def _pgbouncer_connect_args(url: str) -> dict:
    """Behind PgBouncer's transaction pooling, consecutive transactions may run on different server
    connections, so a statement prepared on one is missing on the next (or its name is already
    taken). `?prepared_statement_cache_size=0` in the URL (SQLAlchemy's own cache) says so: then
    asyncpg keeps no cache either and every statement gets a unique name (docs/production.md)."""
    if make_url(url).query.get("prepared_statement_cache_size") != "0":
        return {}
    return {"statement_cache_size": 0, "prepared_statement_name_func": _unique_statement_name}


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _json_dumps(value) -> str:
    return orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the CLI read and write while a server is running; the busy timeout rides out the lock.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Erased personal data must not linger in free space of the file (account deletion, retention purge).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


async def flush_erased_data(engine: AsyncEngine) -> None:
    """After erasing personal data: on SQLite, copy the write-ahead log into the database file and empty
    it, so that no older copy of an erased row stays in either file. (PostgreSQL reclaims old row
    versions by VACUUM; see docs/governance.md.)"""
    if engine.dialect.name != "sqlite":
        return
    async with engine.connect() as connection:
        busy, _, _ = (await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()
    if busy:
        log.warning("could not empty the SQLite write-ahead log after erasing data (readers kept it busy); "
                    "the next checkpoint will")


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"
