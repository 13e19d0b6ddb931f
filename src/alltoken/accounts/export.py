"""An account's own data as one JSON document, for its owner (data portability).

Everything AllToken holds about the account: the account, its users (no password hashes), its keys
(no secrets or hashes), its terms acceptances, ledger entries, usage records (ids, model, tokens,
cost, times: there is no content to export, none is kept) and the audit entries about it. Sections
that grow without bound are streamed from the database rather than built in memory.
"""

from collections.abc import AsyncIterator, Callable

import orjson
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alltoken.accounts.terms import acceptances_of
from alltoken.audit import as_dict as audit_entry
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_str
from alltoken.store.models import (
    Account,
    ApiKey,
    AuditEntry,
    BalanceAlert,
    LedgerEntry,
    Payment,
    TeamMember,
    TermsAcceptance,
    UsageRecord,
    User,
)

_BATCH = 500


async def export_account(sessions: async_sessionmaker, account_id: str) -> AsyncIterator[bytes]:
    async with sessions() as session:
        account = await session.get(Account, account_id)
        users = (await session.scalars(select(User).where(User.account_id == account_id).order_by(User.id))).all()
        keys = (await session.scalars(select(ApiKey).where(ApiKey.account_id == account_id)
                                      .order_by(ApiKey.created_at))).all()
        acceptances = await acceptances_of(session, account_id)
        head = {"exported_at": utcnow(), "account": _account(account), "users": [_user(u) for u in users],
                "keys": [_key(k) for k in keys], "terms_acceptances": [_acceptance(a) for a in acceptances],
                **await _billing_and_teams(session, account_id, [u.id for u in users])}
        yield orjson.dumps(head)[:-1]   # the object stays open for the streamed sections
        about = [account_id, *(k.id for k in keys), *(u.id for u in users)]
        streamed = (
            ("ledger_entries", select(LedgerEntry).where(LedgerEntry.account_id == account_id)
             .order_by(LedgerEntry.id), _ledger_entry),
            ("usage_records", select(UsageRecord).where(UsageRecord.account_id == account_id)
             .order_by(UsageRecord.created_at, UsageRecord.id), _usage_record),
            ("audit_entries", select(AuditEntry).where(or_(AuditEntry.target.in_(about),
                                                           AuditEntry.actor.in_([f"key:{k.id}" for k in keys])))
             .order_by(AuditEntry.id), audit_entry),
        )
        for name, query, view in streamed:
            yield f',"{name}":['.encode()
            async for chunk in _rows(session, query, view):
                yield chunk
            yield b"]"
        yield b"}"


async def _billing_and_teams(session: AsyncSession, account_id: str, user_ids: list[str]) -> dict:
    """Payments (receipts), the low-balance alert, and team memberships of the account or its people."""
    payments = (await session.scalars(select(Payment).where(Payment.account_id == account_id)
                                      .order_by(Payment.created_at))).all()
    alert = await session.get(BalanceAlert, account_id)
    members = (await session.scalars(select(TeamMember).where(
        or_(TeamMember.account_id == account_id, TeamMember.user_id.in_(user_ids))))).all()
    return {"payments": [_columns(p) for p in payments], "balance_alert": _columns(alert) if alert else None,
            "team_memberships": [_columns(m) for m in members]}


def _columns(row) -> dict:
    return {column.name: getattr(row, column.key) for column in row.__table__.columns}


async def _rows(session: AsyncSession, query, view: Callable) -> AsyncIterator[bytes]:
    first = True
    result = await session.stream_scalars(query.execution_options(yield_per=_BATCH))
    async for batch in result.partitions(_BATCH):
        yield (b"" if first else b",") + b",".join(orjson.dumps(view(row)) for row in batch)
        first = False


def _account(account: Account) -> dict:
    return {"id": account.id, "email": account.email, "name": account.name, "status": account.status,
            "status_reason": account.status_reason, "credit_line_usd": units_to_usd_str(account.credit_line_units or 0),
            "routing_policy": account.routing_policy, "created_at": account.created_at}


def _user(user: User) -> dict:
    return {"id": user.id, "email": user.email, "is_admin": user.is_admin, "created_at": user.created_at}


def _key(key: ApiKey) -> dict:
    return {"id": key.id, "name": key.name, "hint": key.hint, "models": key.models,
            "limit_usd": units_to_usd_str(key.limit_units) if key.limit_units is not None else None,
            "limit_reset": key.limit_reset, "spent_usd": units_to_usd_str(key.spent_units),
            "created_at": key.created_at, "expires_at": key.expires_at, "last_used_at": key.last_used_at,
            "revoked_at": key.revoked_at}


def _acceptance(acceptance: TermsAcceptance) -> dict:
    return {"version": acceptance.version, "image_uploads": acceptance.image_uploads,
            "accepted_at": acceptance.accepted_at}


def _ledger_entry(entry: LedgerEntry) -> dict:
    return {"id": entry.id, "kind": entry.kind, "amount_usd": units_to_usd_str(entry.amount_units),
            "request_id": entry.request_id, "expires_at": entry.expires_at, "note": entry.note,
            "created_at": entry.created_at}


def _usage_record(record: UsageRecord) -> dict:
    return {"id": record.id, "key_id": record.key_id, "model": record.model, "provider": record.provider,
            "upstream_model": record.upstream_model, "endpoint": record.endpoint, "streamed": record.streamed,
            "status": record.status, "http_status": record.http_status, "error_code": record.error_code,
            "finish_reason": record.finish_reason, "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens, "cached_tokens": record.cached_tokens,
            "cache_write_tokens": record.cache_write_tokens, "reasoning_tokens": record.reasoning_tokens,
            "cost_usd": units_to_usd_str(record.cost_units), "latency_ms": record.latency_ms,
            "time_to_first_token_ms": record.ttft_ms, "created_at": record.created_at}
