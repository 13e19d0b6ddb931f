"""durable usage and scale-out state

Revision ID: 0020
Revises: 0019
"""

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled in by the change that needs it


def downgrade() -> None:
    pass
