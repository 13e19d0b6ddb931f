"""How fast the usage pages answer on an account with a million usage records.

Fills a fresh database (PostgreSQL on 127.0.0.1:5432 user postgres, and a SQLite file) with
RECORDS usage records for one account over 90 days, migrated to 0016 first so that migration
0017 builds their rollups by its own backfill (timed too), then times the functions the
/api/usage endpoints call: summaries by day, model, provider and key over 30 and 366 days, the
first page of generations and a page half way down; the spend sums of a key's and a team member's
monthly budget period; the generation lookup by id; and the retention purge of raw usage rows
(a run with nothing to delete, as most hourly runs are, then the oldest day of records). Prints
p50 and max in ms over RUNS runs. `--schema 0018` stops the migrations before 0019's indexes, to
compare.

    .venv/bin/python bench/usage_pages.py [--records 1000000] [--runs 20] [--only sqlite|postgresql]
                                          [--schema head|0018]
"""

import argparse
import asyncio
import secrets
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from alembic import command
from sqlalchemy import select

from alltoken.accounts.teams import member_spent_since
from alltoken.analytics.usage_queries import Position, generations_page, usage_summary
from alltoken.governance.usage_retention import purge_old_usage
from alltoken.runtime.loaders import Loaders
from alltoken.store.db import create_engine, session_factory
from alltoken.store.migrate import alembic_config
from alltoken.store.models import UsageRecord

ACCOUNT = "acct_bench"
SPAN = timedelta(days=90)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
COLUMNS = ("id, account_id, key_id, model, provider, upstream_model, endpoint, streamed, prompt_tokens, "
           "completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost_units, latency_ms, "
           "status, http_status, created_at, user_id")
# Record n: one of 5 keys, 10 models, 3 providers, 2 team members; every 50th failed; spread evenly over SPAN up to
# now.
PG_FILL = f"""
INSERT INTO usage_records ({COLUMNS})
SELECT 'gen-' || lpad(n::text, 8, '0'), '{ACCOUNT}', 'key_' || (n % 5), 'model/' || (n % 10), 'provider' || (n % 3),
       'up', 'chat', false, 100 + n % 50, 20 + n % 30, 0, 0, 0, 1000000 + n % 1000, 50 + n % 200,
       CASE WHEN n % 50 = 0 THEN 'error' ELSE 'ok' END, CASE WHEN n % 50 = 0 THEN 502 ELSE 200 END,
       $1::timestamptz - n * ($2::float8 * interval '1 microsecond'), 'user_' || (n % 2)
FROM generate_series(1, $3::int) AS n
"""


def sqlite_rows(count: int, now: datetime):
    step = SPAN / count
    for n in range(1, count + 1):
        failed = n % 50 == 0
        at = (now - n * step).replace(tzinfo=None)
        yield (f"gen-{n:08d}", ACCOUNT, f"key_{n % 5}", f"model/{n % 10}", f"provider{n % 3}", "up", "chat", False,
               100 + n % 50, 20 + n % 30, 0, 0, 0, 1000000 + n % 1000, 50 + n % 200, "error" if failed else "ok",
               502 if failed else 200, at.strftime("%Y-%m-%d %H:%M:%S.%f"),   # SQLAlchemy's SQLite format
               f"user_{n % 2}")


async def fill_postgresql(url: str, count: int, now: datetime) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(PG_FILL, now, SPAN / timedelta(microseconds=1) / count, count)
        await connection.execute("VACUUM ANALYZE usage_records")   # as autovacuum would have by then
    finally:
        await connection.close()


def fill_sqlite(path: Path, count: int, now: datetime) -> None:
    with sqlite3.connect(path) as db:
        rows = sqlite_rows(count, now)
        marks = ", ".join("?" * len(COLUMNS.split(",")))
        while batch := [row for _, row in zip(range(100_000), rows)]:
            db.executemany(f"INSERT INTO usage_records ({COLUMNS}) VALUES ({marks})", batch)
        db.execute("ANALYZE")


async def migrate(engine, target: str) -> None:
    def run(connection):
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, target)
    async with engine.begin() as connection:
        await connection.run_sync(run)


async def timed(runs: int, call) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


async def measure(name: str, url: str, fill, records: int, runs: int, schema: str) -> None:
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        await migrate(engine, "0016")
        started = time.perf_counter()
        await fill(records, now)
        filled = time.perf_counter() - started
        started = time.perf_counter()
        await migrate(engine, schema)   # 0017: the rollups, by the migration's backfill; 0019: indexes
        backfilled = time.perf_counter() - started
        print(f"\n{name}: {records:,} records filled in {filled:.1f} s; migrated to {schema} (0017 backfills the "
              f"rollups) in {backfilled:.1f} s")
        sessions = session_factory(engine)
        async with sessions() as session:
            middle = (await session.execute(select(UsageRecord.created_at, UsageRecord.id)
                                            .where(UsageRecord.id == f"gen-{records // 2:08d}"))).one()
        halfway = Position(middle.created_at, middle.id)
        today = now.date()

        async def summary(days: int, group: str):
            async with sessions() as session:
                return await usage_summary(session, ACCOUNT, today - timedelta(days=days - 1), today, group)

        async def page(after):
            async with sessions() as session:
                return await generations_page(session, ACCOUNT, 51, after)

        checks = [(f"summary {days:>3} days by {group:<8}", lambda d=days, g=group: summary(d, g))
                  for days in (30, 366) for group in ("day", "model", "provider", "key")]
        checks += [("generations first page (50)", lambda: page(None)),
                   (f"generations page at {records // 2:,}", lambda: page(halfway))]
        loaders = Loaders(sessions)
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

        async def member_spend():
            async with sessions() as session:
                return await member_spent_since(session, ACCOUNT, "user_1", month_start)

        async def by_id():
            async with sessions() as session:
                return await session.get(UsageRecord, f"gen-{records // 3:08d}")

        checks += [("key spend, this month", lambda: loaders.key_spent_since("key_1", month_start)),
                   ("member spend, this month", member_spend), ("generation by id", by_id)]
        total = (await summary(366, "day")).totals.requests
        assert total == records, f"rollups count {total} requests, not {records}"
        for label, call in checks:
            await call()   # warm
            p50, worst = await timed(runs, call)
            print(f"  {label:<32} p50 {p50:7.1f} ms   max {worst:7.1f} ms")
        p50, worst = await timed(runs, lambda: purge_old_usage(sessions, SPAN.days + 1, now, 10_000))
        print(f"  {'purge, nothing to delete':<32} p50 {p50:7.1f} ms   max {worst:7.1f} ms")
        started = time.perf_counter()
        deleted = await purge_old_usage(sessions, SPAN.days - 1, now, 10_000)
        print(f"  purge of the oldest day: {deleted:,} records in {(time.perf_counter() - started) * 1000:.0f} ms")
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--schema", default="head", help="migrate to this revision (0018: before 0019's indexes)")
    args = parser.parse_args()
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "usage.db"
            await measure("SQLite", f"sqlite:///{path}",
                          lambda count, now: asyncio.to_thread(fill_sqlite, path, count, now), args.records, args.runs,
                          args.schema)
    if args.only != "sqlite":
        name = f"alltoken_bench_usage_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        try:
            await measure("PostgreSQL", url, lambda count, now: fill_postgresql(url, count, now), args.records,
                          args.runs, args.schema)
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
