"""Run Alembic migrations programmatically (at server start and before CLI commands)."""

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade_to_head(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, alembic_config())


# Instances starting at once on one PostgreSQL database take turns: the first upgrades, the others
# then find the schema at head. Held until the upgrade's transaction ends.
_MIGRATION_LOCK = 7226019


def _upgrade(connection, config: Config) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
    if set(MigrationContext.configure(connection).get_current_heads()) == _heads():
        return   # the usual case: a schema already at head needs no run of the migration environment
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


@functools.cache
def _heads() -> frozenset[str]:
    """The revisions at head. Reading them loads every migration script (~75 ms), so once a process."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())
