"""uncollected cost on usage records and ledger entries

Revision ID: 0022
Revises: 0021

A settlement charges at most what the balance (down to the credit line) and the key's and team
member's limits can take (billing/reservations.py); what a request cost beyond that is kept:
- usage_records.uncollected_units: beside cost_units (what was charged);
- ledger_entries.uncollected_units: on the request's usage entry, outside amount_units, so the
  balance stays the sum of amount_units;
- ix_ledger_uncollected, partial on uncollected_units > 0: the admin list of accounts with
  uncollected cost reads only those entries (http/api/admin/uncollected.py).
On PostgreSQL, adding a column with a constant default changes no rows (and reaches every monthly
partition of usage_records).
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_UNCOLLECTED = sa.text("uncollected_units > 0")


def upgrade() -> None:
    for table in ("usage_records", "ledger_entries"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("uncollected_units", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_index("ix_ledger_uncollected", "ledger_entries", ["account_id", "created_at"],
                    postgresql_where=_UNCOLLECTED, sqlite_where=_UNCOLLECTED)


def downgrade() -> None:
    op.drop_index("ix_ledger_uncollected", "ledger_entries")
    for table in ("ledger_entries", "usage_records"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("uncollected_units")
