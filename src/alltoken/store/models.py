"""Database schema. Migrations in store/migrations mirror these tables.

Privacy: no table has a column for prompt, completion or image content.
"""

from datetime import UTC, date, datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime: pass an aware UTC datetime")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime}
    __table__: ClassVar[Table]   # every model here is mapped to a Table (SQLAlchemy types it as any FromClause)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    credit_line_units: Mapped[int] = mapped_column(BigInteger, default=0)   # postpaid: how far below zero
    # {"allow_providers": [...], "deny_providers": [...], "allow_regions": [...], "deny_regions": [...]}
    routing_policy: Mapped[dict | None] = mapped_column(JSON)
    # A failed or disputed card payment holds API access until the balance is restored (payments/holds.py);
    # separate from `status`, which only an admin changes.
    billing_hold: Mapped[str | None] = mapped_column(String(20))        # payment_failed | payment_disputed
    billing_hold_reason: Mapped[str | None] = mapped_column(Text)       # what happened, for the 403 message
    billing_hold_since: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    kind: Mapped[str] = mapped_column(String(10), default="personal", server_default="personal")  # personal | team

    __table_args__ = (Index("ix_accounts_created", "created_at", "id"),)   # the admin list, newest first


class User(Base):
    """A person who signs in to the console. Admins manage the whole platform."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column()
    # None until the emailed link is followed, where the server asks for it (accounts/email_verification.py)
    email_verified_at: Mapped[datetime | None] = mapped_column()


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(40))
    models: Mapped[list | None] = mapped_column(JSON)
    limit_units: Mapped[int | None] = mapped_column(BigInteger)
    limit_reset: Mapped[str | None] = mapped_column(String(10))     # daily | weekly | monthly
    spent_units: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    # The team member who owns the key (its spend counts toward their limit); None: the account's own key.
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", name="fk_api_keys_user_id"), index=True)
    allowed_ips: Mapped[list | None] = mapped_column(JSON)                 # CIDR networks; None: any address
    last_used_address: Mapped[str | None] = mapped_column(String(64))
    rotated_at: Mapped[datetime | None] = mapped_column()
    # The secret before the last rotation, accepted until `previous_valid_until` (then refused with a clear 401).
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    previous_valid_until: Mapped[datetime | None] = mapped_column()


class LedgerEntry(Base):
    """Immutable money movements. An account's balance is the sum of its entries."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(20))
    amount_units: Mapped[int] = mapped_column(BigInteger)
    request_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()
    # A usage entry's cost beyond what the balance and limits could take; not in amount_units, nor the balance
    uncollected_units: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    __table_args__ = (Index("ix_ledger_account", "account_id", "id", postgresql_include=["amount_units"]),
                      Index("ix_ledger_uncollected", "account_id", "created_at",
                            postgresql_where=text("uncollected_units > 0"),
                            sqlite_where=text("uncollected_units > 0")))


class UsageRecord(Base):
    """One API request: ids, model, provider, tokens, cost, timings, status. Never content."""

    __tablename__ = "usage_records"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(100))
    upstream_model: Mapped[str | None] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(40))
    streamed: Mapped[bool] = mapped_column(Boolean, default=False)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_units: Mapped[int] = mapped_column(BigInteger, default=0)
    uncollected_units: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # beyond cost_units
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    ttft_ms: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    http_status: Mapped[int] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(100))
    finish_reason: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column()
    user_id: Mapped[str | None] = mapped_column(String(40))     # the team member whose key made it

    __table_args__ = (
        Index("ix_usage_account_time", "account_id", "created_at"),
        Index("ix_usage_key_time", "key_id", "created_at", postgresql_include=["cost_units"]),
        Index("ix_usage_member_time", "user_id", "account_id", "created_at", postgresql_include=["cost_units"]),
        Index("ix_usage_time", "created_at", postgresql_using="brin"),   # retention purge (migration 0019)
    )


class TermsAcceptance(Base):
    __tablename__ = "terms_acceptances"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    version: Mapped[str] = mapped_column(String(40))
    image_uploads: Mapped[bool] = mapped_column(Boolean, default=False)
    accepted_at: Mapped[datetime] = mapped_column()


class ModelRoutes(Base):
    """Routes of a public model set at run time (management API); they replace config and catalog."""

    __tablename__ = "model_routes"

    model_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    definition: Mapped[dict] = mapped_column(JSON)   # a config-file `models:` entry
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column()


class RedemptionCode(Base):
    """A batch-made credit code. Only its hash is stored, like an API key's."""

    __tablename__ = "redemption_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    hint: Mapped[str] = mapped_column(String(20))
    batch_id: Mapped[str] = mapped_column(String(40), index=True)
    amount_units: Mapped[int] = mapped_column(BigInteger)
    uses_left: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()


class CodeRedemption(Base):
    """One account's use of a code; the unique pair makes a second use by the same account fail."""

    __tablename__ = "code_redemptions"

    code_hash: Mapped[str] = mapped_column(ForeignKey("redemption_codes.code_hash"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    ledger_entry_id: Mapped[int] = mapped_column(BigInteger)
    redeemed_at: Mapped[datetime] = mapped_column()


class ChangeEvent(Base):
    """Append-only feed of control-plane changes; running servers poll it to drop stale cache."""

    __tablename__ = "change_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()


class AuditEntry(Base):
    """Who did what, to what, when and from where. Append-only: the database refuses updates and deletes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))      # "cli:<os user>", "key:<key id>", "stripe", "system"
    action: Mapped[str] = mapped_column(String(60))      # e.g. "account.suspend", "key.revoke"
    target: Mapped[str | None] = mapped_column(String(200))   # an id (acct_..., key_...) or "model:<id>"
    address: Mapped[str | None] = mapped_column(String(64))   # the client address, when over HTTP
    details: Mapped[dict | None] = mapped_column(JSON)        # reasons and amounts; never content

    __table_args__ = (Index("ix_audit_log_target", "target", "id"),)


class Payment(Base):
    """One card payment through Stripe: a Checkout top-up or an automatic one. Its receipt."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(10))                  # checkout | auto
    status: Mapped[str] = mapped_column(String(20))                # open | processing | succeeded | failed | expired
    credit_units: Mapped[int] = mapped_column(BigInteger)          # credit bought (1e-12 USD)
    tax_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)           # charged: credit + tax
    currency: Mapped[str] = mapped_column(String(3))
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    receipt_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    ledger_entry_id: Mapped[int | None] = mapped_column(BigInteger)
    failure_message: Mapped[str | None] = mapped_column(Text)
    disputed_units: Mapped[int] = mapped_column(BigInteger, default=0)   # credit taken back by disputes
    created_at: Mapped[datetime] = mapped_column()
    paid_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_payments_account_time", "account_id", "created_at"),)


class StripeEvent(Base):
    """A Stripe webhook event already applied; written in the same transaction as its effect."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column()


class BillingProfile(Base):
    """An account's Stripe customer, its saved card, and its auto top-up settings."""

    __tablename__ = "billing_profiles"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    payment_method_id: Mapped[str | None] = mapped_column(String(255))   # saved for off-session charges
    auto_topup_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_topup_threshold_units: Mapped[int] = mapped_column(BigInteger, default=0)
    auto_topup_amount_units: Mapped[int] = mapped_column(BigInteger, default=0)
    auto_topup_pending: Mapped[bool] = mapped_column(Boolean, default=False)   # claimed: one charge per dip
    auto_topup_failure: Mapped[str | None] = mapped_column(Text)              # why it was switched off
    updated_at: Mapped[datetime] = mapped_column()


# Statements and transaction pages read an account's entries by time (migration 0010).
Index("ix_ledger_account_time", LedgerEntry.account_id, LedgerEntry.created_at, LedgerEntry.id,
      postgresql_include=["kind", "amount_units"])


class BalanceAlert(Base):
    """An account's low-balance email setting, and the state of its current alert.

    `triggered_at` is set while the balance is below the threshold (an alert is outstanding),
    `notified_at` once its email went out; `sending_until` is a process's claim on sending it."""

    __tablename__ = "balance_alerts"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    threshold_units: Mapped[int] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))     # None: the account's email
    triggered_at: Mapped[datetime | None] = mapped_column()
    notified_at: Mapped[datetime | None] = mapped_column()
    sending_until: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class UserSession(Base):
    """A console sign-in. Only the token's hash is stored; the browser holds the token in an httpOnly cookie."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))    # the account the console acts on
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    reauthenticated_at: Mapped[datetime | None] = mapped_column()   # the user last confirmed their password


class SignInCount(Base):
    """The sign-in throttle's count of attempts for one subject (a hashed email or a client address, per
    purpose) in a window that began with the first of them (accounts/sign_in_throttle.py)."""

    __tablename__ = "sign_in_counts"

    subject: Mapped[str] = mapped_column(String(80), primary_key=True)   # "email:<sha256>", "reset:ip:<address>"
    window_start: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer)


class EmailedToken:
    """The columns of a single-use token sent by email (accounts/emailed_tokens.py): only its SHA-256 is
    stored, the emailed link holds the token."""

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class PasswordResetToken(EmailedToken, Base):
    """A password reset asked for by email. Single use, short-lived."""

    __tablename__ = "password_reset_tokens"


class EmailVerificationToken(EmailedToken, Base):
    """A link that proves a user receives email at their address. Single use, expiring."""

    __tablename__ = "email_verification_tokens"


class TeamMember(Base):
    """A user's membership of a team account: their role, and an optional spending limit of their own.

    The team account holds the balance; a member spends it through keys whose user_id is theirs."""

    __tablename__ = "team_members"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20))                   # owner | admin | developer | billing | viewer
    limit_units: Mapped[int | None] = mapped_column(BigInteger)
    limit_reset: Mapped[str | None] = mapped_column(String(10))     # daily | weekly | monthly; None: never resets
    created_at: Mapped[datetime] = mapped_column()


class ImageModerationLog(Base):
    """One image request (terms §4.7(c)): exactly these five fields, never a prompt or image bytes.
    `moderation` is the level the client sent, as sent; NULL when it set none."""

    __tablename__ = "image_moderation_log"

    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)     # the request id
    account_id: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200))
    moderation: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column()

    __table_args__ = (Index("ix_image_moderation_log_time", "created_at", "task_id"),
                      Index("ix_image_moderation_log_account", "account_id", "created_at"))


class TermsVersion(Base):
    """A published version of the terms of service. A material one makes accounts accept it again."""

    __tablename__ = "terms_versions"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    effective_at: Mapped[datetime] = mapped_column(unique=True)
    material: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime] = mapped_column()


class AccountDeletion(Base):
    """An erased account: when, so that its ledger is purged once the retention period has passed."""

    __tablename__ = "account_deletions"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column()


class EnforcementAction(Base):
    """One change of an account's enforcement state, kept as history (the current state is `accounts.status`)."""

    __tablename__ = "enforcement_actions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    state: Mapped[str] = mapped_column(String(20))          # active | warned | rate_limited | suspended | terminated
    previous_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()

    __table_args__ = (Index("ix_enforcement_actions_account", "account_id", "id"),)


class Notification(Base):
    """Outbox of messages to an account (e-mailed by a mailer, which sets `sent_at`). Never request content."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))           # e.g. "enforcement.warned"
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()          # set once the SMTP server accepted it
    claimed_until: Mapped[datetime | None] = mapped_column()    # a mailer is sending it until then

    __table_args__ = (Index("ix_notifications_unsent", "sent_at", "id"),)


class AccountRestriction(Base):
    """Models and providers an account may not use (e.g. at a provider's demand). Per dimension, either an
    allow-list or a deny-list."""

    __tablename__ = "account_restrictions"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    allow_models: Mapped[list | None] = mapped_column(JSON)
    deny_models: Mapped[list | None] = mapped_column(JSON)
    allow_providers: Mapped[list | None] = mapped_column(JSON)
    deny_providers: Mapped[list | None] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column()


class RateLimitSetting(Base):
    """An account's rate-limit tier and its own limits, or a key's own limits (None: no override)."""

    __tablename__ = "rate_limit_settings"

    subject_id: Mapped[str] = mapped_column(String(40), primary_key=True)   # an account (acct_...) or key (key_...)
    tier: Mapped[str | None] = mapped_column(String(40))
    rpm: Mapped[int | None] = mapped_column(BigInteger)
    tpm: Mapped[int | None] = mapped_column(BigInteger)
    concurrency: Mapped[int | None] = mapped_column(BigInteger)
    models: Mapped[dict | None] = mapped_column(JSON)     # model id -> {"rpm", "tpm", "concurrency"}; accounts only
    updated_at: Mapped[datetime] = mapped_column()


class UsageDaily(Base):
    """Usage counters per account, UTC day, model, provider and key: the usage pages read these, not raw rows.

    Kept by the usage recorder in the same transaction as the usage records it adds to them."""

    __tablename__ = "usage_daily"

    account_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    provider: Mapped[str] = mapped_column(String(100), primary_key=True)   # '' when none (no route reached)
    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)      # '' when none
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_units: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_ms_sum: Mapped[int] = mapped_column(BigInteger, default=0)


class TeamInvitation(Base):
    """An emailed invitation to join a team. Only the token's SHA-256 is kept; the link carries the token.

    Pending while not accepted, not cancelled and not expired; each token works once."""

    __tablename__ = "team_invitations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    limit_units: Mapped[int | None] = mapped_column(BigInteger)
    limit_reset: Mapped[str | None] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str] = mapped_column(String(80))        # the audit log's actor: user:... or key:...
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()
    accepted_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column()
