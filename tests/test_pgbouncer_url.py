"""Behind PgBouncer (transaction pooling) no statement may outlive its transaction: the database URL's
`prepared_statement_cache_size=0` turns off SQLAlchemy's and asyncpg's statement caches and names
every statement uniquely (docs/production.md#pgbouncer)."""

from sqlalchemy import text

from alltoken.store.db import create_engine

from .databases import PG_ADMIN


async def driver_connection(url: str):
    engine = create_engine(url)
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
        raw = await connection.get_raw_connection()
        adapted = raw.dbapi_connection
        names = {adapted._prepared_statement_name_func() for _ in range(2)}
        caches = adapted._prepared_statement_cache, adapted._connection._stmt_cache.get_max_size()
    await engine.dispose()
    return caches, names


async def test_the_pgbouncer_url_turns_prepared_statement_caches_off():
    (sqlalchemy_cache, asyncpg_cache_size), names = await driver_connection(
        f"{PG_ADMIN}?prepared_statement_cache_size=0")
    assert sqlalchemy_cache is None and asyncpg_cache_size == 0
    assert len(names) == 2 and all(name.startswith("__asyncpg_") for name in names)


async def test_a_plain_url_keeps_the_caches():
    (sqlalchemy_cache, asyncpg_cache_size), _ = await driver_connection(PG_ADMIN)
    assert sqlalchemy_cache is not None and asyncpg_cache_size > 0
