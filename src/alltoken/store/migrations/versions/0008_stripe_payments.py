"""Stripe payments, webhook events, auto top-up and billing holds

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("billing_hold", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("billing_hold_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("billing_hold_since", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("account_id", sa.String(length=40), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("credit_units", sa.BigInteger(), nullable=False),
        sa.Column("tax_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stripe_checkout_session_id", sa.String(length=255), nullable=True, unique=True),
        sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=True, unique=True),
        sa.Column("receipt_number", sa.String(length=40), nullable=True, unique=True),
        sa.Column("ledger_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("disputed_units", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_payments_account_time", "payments", ["account_id", "created_at"])
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), primary_key=True),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "billing_profiles",
        sa.Column("account_id", sa.String(length=40), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=True),
        sa.Column("payment_method_id", sa.String(length=255), nullable=True),
        sa.Column("auto_topup_enabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("auto_topup_threshold_units", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("auto_topup_amount_units", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("auto_topup_pending", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("auto_topup_failure", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("billing_profiles")
    op.drop_table("stripe_events")
    op.drop_index("ix_payments_account_time", table_name="payments")
    op.drop_table("payments")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("billing_hold_since")
        batch_op.drop_column("billing_hold_reason")
        batch_op.drop_column("billing_hold")
