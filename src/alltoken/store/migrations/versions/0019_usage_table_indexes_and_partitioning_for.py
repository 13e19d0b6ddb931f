"""usage table indexes for scale-out

Revision ID: 0019
Revises: 0018

Indexes that match what the app reads as the usage and ledger tables grow (docs/production.md,
"Large usage tables"):

- `ix_usage_time` on usage_records(created_at), for the retention purge of raw usage rows: BRIN on
  PostgreSQL (rows arrive in time order, so a few kilobytes cover millions of rows and inserts
  barely pay for it), a b-tree on SQLite (which has no BRIN).
- On PostgreSQL, the key and team-member spend sums (budget periods) and the balance sum read
  only the index: the summed column rides along (INCLUDE), so no table page is visited.

usage_records is partitioned by month in 0020 (docs/production.md, "Large usage tables").
Plain CREATE INDEX (not CONCURRENTLY: migrations run in one transaction at start), so writes to
the tables wait while it builds: 29 s for one million usage records on the 2-core development
machine at a load average of 30 (other work), less on a quiet server.
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.create_index("ix_usage_time", "usage_records", ["created_at"])
        return
    op.create_index("ix_usage_time", "usage_records", ["created_at"], postgresql_using="brin")
    _recreate("ix_usage_key_time", "usage_records", ["key_id", "created_at"], include=["cost_units"])
    _recreate("ix_usage_member_time", "usage_records", ["user_id", "account_id", "created_at"],
              include=["cost_units"])
    _recreate("ix_ledger_account", "ledger_entries", ["account_id", "id"], include=["amount_units"])


def downgrade() -> None:
    op.drop_index("ix_usage_time", "usage_records")
    if op.get_bind().dialect.name != "postgresql":
        return
    _recreate("ix_usage_key_time", "usage_records", ["key_id", "created_at"])
    _recreate("ix_usage_member_time", "usage_records", ["user_id", "account_id", "created_at"])
    _recreate("ix_ledger_account", "ledger_entries", ["account_id", "id"])


def _recreate(name: str, table: str, columns: list[str], include: list[str] | None = None) -> None:
    op.drop_index(name, table)
    op.create_index(name, table, columns, postgresql_include=include or [])
