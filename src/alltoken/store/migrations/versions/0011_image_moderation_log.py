"""image moderation log and upload warranty

The upload warranty (terms §4.8) needs no schema change: terms_acceptances already has its
`image_uploads` flag.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_moderation_log",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("moderation", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_image_moderation_log_time", "image_moderation_log", ["created_at", "task_id"])
    op.create_index("ix_image_moderation_log_account", "image_moderation_log", ["account_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_image_moderation_log_account", table_name="image_moderation_log")
    op.drop_index("ix_image_moderation_log_time", table_name="image_moderation_log")
    op.drop_table("image_moderation_log")
