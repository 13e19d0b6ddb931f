"""outbox claims that lapse; accounts listed newest first from an index

Revision ID: 0021
Revises: 0020

- notifications.claimed_until: a mailer's claim on a message lasts until then, and `sent_at` is
  set only once the SMTP server accepted it, so a mailer killed mid-send leaves the message to
  another one instead of losing it (notifications/outbox.py).
- ix_accounts_created on accounts(created_at, id): the admin account list pages newest first by
  that pair (accounts/directory.py), now read from the index instead of sorting the table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_accounts_created", "accounts", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_accounts_created", "accounts")
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_column("claimed_until")
