"""terms versions, region blocking and account deletion

Revision ID: 0014
Revises: 0013

Region blocking needs no table (it is configuration).
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "terms_versions",
        sa.Column("version", sa.String(length=40), primary_key=True),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False, unique=True),
        sa.Column("material", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "account_deletions",
        sa.Column("account_id", sa.String(length=40), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("account_deletions")
    op.drop_table("terms_versions")
