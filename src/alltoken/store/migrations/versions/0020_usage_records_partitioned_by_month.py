"""usage_records partitioned by month on PostgreSQL

Revision ID: 0020
Revises: 0019

On PostgreSQL, usage_records becomes a table partitioned by range of created_at: one partition per
month from the oldest row to two months ahead, and a DEFAULT partition (store/usage_partitions.py).
A partitioned table's primary key must include the partition column, so it becomes
(id, created_at); usage writes stay idempotent by id because writers look ids up under the ledger
lock before inserting (store/upsert.insert_new), not by a unique index on id.

The rows are copied into the new table inside the start-up migration, which holds usage writes
meanwhile (seconds per million rows; bench/usage_pages.py times it). SQLite keeps one table.
"""

from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text

from alltoken.store.usage_partitions import DEFAULT_PARTITION, create_partition_sql, last_month_ahead, months_from

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_INDEXES = {   # as in store/models.py UsageRecord, rebuilt on the converted table
    "ix_usage_account_time": "(account_id, created_at)",
    "ix_usage_key_time": "(key_id, created_at) INCLUDE (cost_units)",
    "ix_usage_member_time": "(user_id, account_id, created_at) INCLUDE (cost_units)",
    "ix_usage_time": "USING brin (created_at)",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _set_aside()
    op.execute("CREATE TABLE usage_records (LIKE usage_records_before INCLUDING DEFAULTS) "
               "PARTITION BY RANGE (created_at)")
    op.execute("ALTER TABLE usage_records ADD CONSTRAINT usage_records_pkey PRIMARY KEY (id, created_at)")
    op.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF usage_records DEFAULT")
    now = datetime.now(UTC)
    oldest = op.get_bind().execute(text("SELECT min(created_at) FROM usage_records_before")).scalar() or now
    for month in months_from(min(oldest, now), last_month_ahead(now)):
        op.execute(create_partition_sql(month))
    _copy_back_and_index()


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _set_aside()
    op.execute("CREATE TABLE usage_records (LIKE usage_records_before INCLUDING DEFAULTS)")
    op.execute("ALTER TABLE usage_records ADD CONSTRAINT usage_records_pkey PRIMARY KEY (id)")
    _copy_back_and_index()


def _set_aside() -> None:
    """Rename the table and free its index names for the new one."""
    op.execute("ALTER TABLE usage_records RENAME TO usage_records_before")
    op.execute("ALTER TABLE usage_records_before RENAME CONSTRAINT usage_records_pkey TO usage_records_before_pkey")
    for name in _INDEXES:
        op.execute(f"DROP INDEX {name}")


def _copy_back_and_index() -> None:
    op.execute("INSERT INTO usage_records SELECT * FROM usage_records_before")
    op.execute("DROP TABLE usage_records_before")   # with its partitions, when it had any
    for name, definition in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON usage_records {definition}")
    op.execute("ANALYZE usage_records")   # the planner's statistics of the new table, before autovacuum's
