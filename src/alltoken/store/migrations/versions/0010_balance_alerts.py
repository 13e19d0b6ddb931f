"""low-balance alerts and statements: alert settings per account, a ledger index by time

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "balance_alerts",
        sa.Column("account_id", sa.String(length=40), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("threshold_units", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sending_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Statements and transaction pages read an account's entries by time. On PostgreSQL the index
    # carries kind and amount too, so a month's totals are an index-only scan.
    op.create_index("ix_ledger_account_time", "ledger_entries", ["account_id", "created_at", "id"],
                    postgresql_include=["kind", "amount_units"])


def downgrade() -> None:
    op.drop_index("ix_ledger_account_time", table_name="ledger_entries")
    op.drop_table("balance_alerts")
