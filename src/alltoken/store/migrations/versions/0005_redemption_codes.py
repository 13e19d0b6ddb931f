"""redemption codes and their uses

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "redemption_codes",
        sa.Column("code_hash", sa.String(length=64), primary_key=True),
        sa.Column("hint", sa.String(length=20), nullable=False),
        sa.Column("batch_id", sa.String(length=40), nullable=False, index=True),
        sa.Column("amount_units", sa.BigInteger(), nullable=False),
        sa.Column("uses_left", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "code_redemptions",
        sa.Column("code_hash", sa.String(length=64), sa.ForeignKey("redemption_codes.code_hash"), primary_key=True),
        sa.Column("account_id", sa.String(length=40), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("ledger_entry_id", sa.BigInteger(), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("code_redemptions")
    op.drop_table("redemption_codes")
