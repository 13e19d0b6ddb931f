"""Database schema. Migrations in store/migrations mirror these tables.

Privacy: no table has a column for prompt, completion or image content.
"""

from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator
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
    created_at: Mapped[datetime] = mapped_column()


class User(Base):
    """A person who signs in to the console. Admins manage the whole platform."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column()


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

    __table_args__ = (Index("ix_ledger_account", "account_id", "id"),)


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
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    ttft_ms: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    http_status: Mapped[int] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(100))
    finish_reason: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        Index("ix_usage_account_time", "account_id", "created_at"),
        Index("ix_usage_key_time", "key_id", "created_at"),
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
