"""Daily usage rollups: a batch of usage events folded into counters per (account, UTC day, model,
provider, key), added to `usage_daily` with one upsert in the recorder's transaction."""

from datetime import UTC

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.analytics.events import UsageEvent
from alltoken.store.models import UsageDaily

COUNTERS = ("requests", "failed_requests", "prompt_tokens", "completion_tokens", "cost_units", "latency_ms_sum")


def daily_rollups(events: list[UsageEvent]) -> list[dict]:
    """One row of summed counters per rollup key in the batch."""
    rows: dict[tuple, dict] = {}
    for event in events:
        key = (event.account_id, event.created_at.astimezone(UTC).date(), event.model, event.provider or "",
               event.key_id or "")
        row = rows.get(key)
        if row is None:
            row = rows[key] = dict(zip(("account_id", "day", "model", "provider", "key_id"), key),
                                   **dict.fromkeys(COUNTERS, 0))
        row["requests"] += 1
        row["failed_requests"] += event.status == "error"
        row["prompt_tokens"] += event.prompt_tokens
        row["completion_tokens"] += event.completion_tokens
        row["cost_units"] += event.cost_units
        row["latency_ms_sum"] += event.latency_ms
    # In key order: concurrent writers (several server processes) then lock rollup rows in the same
    # order, so their upserts cannot deadlock on PostgreSQL.
    return [rows[key] for key in sorted(rows)]


async def add_to_rollups(session: AsyncSession, rows: list[dict]) -> None:
    """Add each row's counters to its rollup, creating it if new (one statement, both dialects)."""
    if not rows:
        return
    table = UsageDaily.__table__
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[column.name for column in table.primary_key],
        set_={name: table.c[name] + statement.excluded[name] for name in COUNTERS})
    await session.execute(statement, rows)


async def detach_rollups(session: AsyncSession, account_ids) -> None:
    """Fold the accounts' per-key rollups into their keyless ones, as a deleted account's usage records
    forget which key made them. `account_ids`: a list, or a query of them."""
    table = UsageDaily.__table__
    keyed = (table.c.account_id.in_(account_ids), table.c.key_id != "")
    found = (await session.execute(select(table).where(*keyed))).mappings().all()
    if not found:
        return
    folded: dict[tuple, dict] = {}
    for row in found:
        target = folded.setdefault((row["account_id"], row["day"], row["model"], row["provider"]),
                                   {**row, "key_id": "", **dict.fromkeys(COUNTERS, 0)})
        for name in COUNTERS:
            target[name] += row[name]
    await session.execute(delete(table).where(*keyed))
    await add_to_rollups(session, [folded[key] for key in sorted(folded)])
