"""Idempotent bulk insert for both dialects: a row whose unique key exists is skipped."""

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignoring_duplicates(session: AsyncSession, table: Table, rows: list[dict], unique: str) -> None:
    if not rows:
        return
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(dialect_insert(table).on_conflict_do_nothing(index_elements=[unique]), rows)



async def insert_new(session: AsyncSession, table: Table, rows: list[dict], unique: str) -> set:
    """Insert the rows whose `unique` value the table does not hold yet, returning those values (a
    batch written twice, e.g. replayed from the usage stream, adds to counters only for its new rows).

    It looks the values up, then inserts: the caller serializes concurrent writers of the table (on
    PostgreSQL an advisory lock, billing/ledger.serialize_ledger_writes; SQLite has one writer), so no
    other writer can insert in between. So `unique` needs no unique index of its own (usage_records,
    partitioned on PostgreSQL, is unique by (id, created_at): migration 0020). Both statements are
    cached compilations; the insert runs as the driver's executemany."""
    if not rows:
        return set()
    column = table.c[unique]
    found = await session.execute(select(column).where(column.in_([row[unique] for row in rows])))
    seen = set(found.scalars().all())
    fresh = []
    for row in rows:   # a value twice in the batch is inserted once
        if row[unique] not in seen:
            seen.add(row[unique])
            fresh.append(row)
    if fresh and session.get_bind().dialect.name == "sqlite":   # its deferred transactions may still race: skip those
        await insert_ignoring_duplicates(session, table, fresh, unique)
    elif fresh:
        await session.execute(insert(table), fresh)
    return {row[unique] for row in fresh}
