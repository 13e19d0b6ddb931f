"""atomic sign-in counts; email verification

Revision ID: 0023
Revises: 0022

- sign_in_counts replaces sign_in_failures: one row per throttled subject (a hashed email or a client
  address, per purpose) with its attempts in the current window, so one conditional upsert counts an
  attempt only while it is under the limit (accounts/sign_in_throttle.py). The old rows are at most 15
  minutes of failures: they are dropped, not carried over.
- users.email_verified_at, and email_verification_tokens (only the SHA-256 of each emailed token):
  a new user verifies their email before their account makes API keys, where the server asks for it
  (accounts/email_verification.py). Users from before are taken as verified.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_sign_in_failures_subject_at", "sign_in_failures")
    op.drop_table("sign_in_failures")
    op.create_table(
        "sign_in_counts",
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    op.create_index("ix_sign_in_counts_window_start", "sign_in_counts", ["window_start"])
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET email_verified_at = created_at")
    op.create_table(
        "email_verification_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("email_verification_tokens")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("email_verified_at")
    op.drop_index("ix_sign_in_counts_window_start", "sign_in_counts")
    op.drop_table("sign_in_counts")
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sign_in_failures_subject_at", "sign_in_failures", ["subject", "at"])
