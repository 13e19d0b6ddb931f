"""Several instances starting at once against one PostgreSQL database: each upgrades the schema
at start, one after the other, and every one of them starts (docs/production.md)."""

import asyncio
import sys

import asyncpg

from .conftest import fresh_postgres_database

UPGRADE = """
import asyncio, sys
from alltoken.store.db import create_engine
from alltoken.store.migrate import upgrade_to_head

async def main():
    engine = create_engine(sys.argv[1])
    await upgrade_to_head(engine)
    await engine.dispose()

asyncio.run(main())
"""


async def upgrade_in_a_process(url: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", UPGRADE, url,
                                                   stderr=asyncio.subprocess.PIPE)
    _, err = await process.communicate()
    return process.returncode, err.decode()[-2000:]


async def test_instances_upgrading_a_fresh_database_at_once_all_succeed():
    async with fresh_postgres_database() as url:
        outcomes = await asyncio.gather(*(upgrade_in_a_process(url) for _ in range(3)))
        assert outcomes == [(0, "")] * 3
        database = await asyncpg.connect(url)
        versions = await database.fetch("SELECT version_num FROM alembic_version")
        await database.close()
        assert len(versions) == 1
