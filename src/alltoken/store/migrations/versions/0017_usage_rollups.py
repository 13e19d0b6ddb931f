"""usage rollups by day, model, provider and key

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_BACKFILL = """
INSERT INTO usage_daily (account_id, day, model, provider, key_id, requests, failed_requests, prompt_tokens,
                         completion_tokens, cost_units, latency_ms_sum)
SELECT account_id, {day}, model, COALESCE(provider, ''), COALESCE(key_id, ''), COUNT(*),
       SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), SUM(prompt_tokens), SUM(completion_tokens),
       SUM(cost_units), SUM(latency_ms)
FROM usage_records
GROUP BY account_id, {day}, model, COALESCE(provider, ''), COALESCE(key_id, '')
"""

# created_at is stored in UTC: naive text on SQLite, timestamptz on PostgreSQL.
_UTC_DAY = {"sqlite": "date(created_at)", "postgresql": "CAST(created_at AT TIME ZONE 'UTC' AS DATE)"}


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("provider", sa.String(100), primary_key=True),
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("failed_requests", sa.BigInteger(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_units", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms_sum", sa.BigInteger(), nullable=False),
    )
    op.execute(_BACKFILL.format(day=_UTC_DAY[op.get_bind().dialect.name]))


def downgrade() -> None:
    op.drop_table("usage_daily")
