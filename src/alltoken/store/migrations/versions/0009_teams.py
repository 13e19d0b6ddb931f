"""teams: members with roles and spending limits

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=10), nullable=False, server_default="personal"))
    op.create_table(
        "team_members",
        sa.Column("account_id", sa.String(length=40), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("user_id", sa.String(length=40), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("limit_units", sa.BigInteger(), nullable=True),
        sa.Column("limit_reset", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_team_members_user_id", "team_members", ["user_id"])
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key("fk_api_keys_user_id", "users", ["user_id"], ["id"])
        batch_op.create_index("ix_api_keys_user_id", ["user_id"])
    # Plain ALTER on both backends: usage_records is the big table, and SQLite needs no copy of it for this.
    op.add_column("usage_records", sa.Column("user_id", sa.String(length=40), nullable=True))
    op.create_index("ix_usage_member_time", "usage_records", ["user_id", "account_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_usage_member_time", table_name="usage_records")
    with op.batch_alter_table("usage_records") as batch_op:
        batch_op.drop_column("user_id")
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_index("ix_api_keys_user_id")
        batch_op.drop_constraint("fk_api_keys_user_id", type_="foreignkey")
        batch_op.drop_column("user_id")
    op.drop_index("ix_team_members_user_id", table_name="team_members")
    op.drop_table("team_members")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("kind")
