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



async def insert_new(session: AsyncSession, table: Table, rows: list[dict], unique: str) -> set:
    """insert_ignoring_duplicates, returning the `unique` values of the rows it inserted (a batch written
    twice, e.g. replayed from the usage stream, adds to counters only for its new rows).

    It looks the values up, then inserts: the caller serializes concurrent writers of the table (on
    PostgreSQL an advisory lock, billing/ledger.serialize_ledger_writes; SQLite has one writer), so no
    other writer can insert in between. Both statements are cached compilations run as executemany;
    an INSERT .. VALUES of the whole batch with RETURNING would be compiled afresh, row by row, each time."""
    if not rows:
        return set()
    column = table.c[unique]
    wanted = [row[unique] for row in rows]
    existing = set((await session.execute(select(column).where(column.in_(wanted)))).scalars().all())
    await insert_ignoring_duplicates(session, table, rows, unique)
    return set(wanted) - existing
