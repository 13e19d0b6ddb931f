"""Idempotent bulk insert for both dialects: a row whose unique key exists is skipped."""

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignoring_duplicates(session: AsyncSession, table: Table, rows: list[dict], unique: str) -> None:
    if not rows:
        return
    dialect_insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(dialect_insert(table).on_conflict_do_nothing(index_elements=[unique]), rows)



_ROWS_PER_STATEMENT = 1000


async def insert_new(session: AsyncSession, table: Table, rows: list[dict], unique: str) -> set:
    """insert_ignoring_duplicates, returning the `unique` values of the rows it inserted (a batch written
    twice, e.g. replayed from the usage stream, adds to counters only for its new rows)."""
    if not rows:
        return set()
    column = table.c[unique]
    if session.bind.dialect.name == "postgresql":  # concurrent writers: only RETURNING tells which rows were ours
        inserted = set()
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):  # one multi-row VALUES each, under 32767 parameters
            statement = (pg_insert(table).values(rows[start:start + _ROWS_PER_STATEMENT])
                         .on_conflict_do_nothing(index_elements=[unique]).returning(column))
            inserted.update((await session.execute(statement)).scalars().all())
        return inserted
    # SQLite writes one transaction at a time (and its driver has no executemany RETURNING)
    wanted = [row[unique] for row in rows]
    existing = set((await session.execute(select(column).where(column.in_(wanted)))).scalars().all())
    await insert_ignoring_duplicates(session, table, rows, unique)
    return set(wanted) - existing
