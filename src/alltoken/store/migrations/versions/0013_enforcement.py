"""enforcement states, model restrictions and key hygiene

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "enforcement_actions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("previous_state", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_enforcement_actions_account", "enforcement_actions", ["account_id", "id"])
    op.create_table(
        "notifications",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_notifications_account_id", "notifications", ["account_id"])
    op.create_index("ix_notifications_unsent", "notifications", ["sent_at", "id"])
    op.create_table(
        "account_restrictions",
        sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("allow_models", sa.JSON(), nullable=True),
        sa.Column("deny_models", sa.JSON(), nullable=True),
        sa.Column("allow_providers", sa.JSON(), nullable=True),
        sa.Column("deny_providers", sa.JSON(), nullable=True),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.add_column(sa.Column("allowed_ips", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("last_used_address", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("previous_secret_hash", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("previous_valid_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint("uq_api_keys_previous_secret_hash", ["previous_secret_hash"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_constraint("uq_api_keys_previous_secret_hash", type_="unique")
        for column in ("previous_valid_until", "previous_secret_hash", "rotated_at", "last_used_address",
                       "allowed_ips"):
            batch_op.drop_column(column)
    op.drop_table("account_restrictions")
    op.drop_table("notifications")
    op.drop_table("enforcement_actions")
