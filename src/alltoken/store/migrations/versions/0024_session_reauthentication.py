"""console sessions remember when their user last confirmed their password

Revision ID: 0024
Revises: 0023

- user_sessions.reauthenticated_at: set by POST /api/auth/reauthenticate. Irreversible or account-wide
  actions (deletion, export, where alerts go, terms and warranties, who the owners are) need it within
  the last few minutes (accounts/roles.py, CONFIRMED).
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_sessions") as batch_op:
        batch_op.add_column(sa.Column("reauthenticated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_sessions") as batch_op:
        batch_op.drop_column("reauthenticated_at")
