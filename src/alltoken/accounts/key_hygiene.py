"""Key hygiene: rotation with a grace period, revoke-all for a compromised account, and what may
be shown of a key (never its secret, which only its holder ever sees)."""

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts import keys
from alltoken.accounts.service import NewKey
from alltoken.errors import Conflict, NotFound
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_str
from alltoken.store.changes import record_change
from alltoken.store.models import ApiKey


async def get_key(session: AsyncSession, key_id: str, account_id: str | None = None) -> ApiKey:
    """The key; with `account_id`, only if it is that account's (another's is as good as missing)."""
    row = await session.get(ApiKey, key_id)
    if row is None or (account_id is not None and row.account_id != account_id):
        raise NotFound(f"no key {key_id}")
    return row


async def account_keys(session: AsyncSession, account_id: str) -> list[ApiKey]:
    return list(await session.scalars(select(ApiKey).where(ApiKey.account_id == account_id)
                                      .order_by(ApiKey.created_at, ApiKey.id)))


async def rotate_key(session: AsyncSession, row: ApiKey, grace_seconds: int) -> NewKey:
    """A new secret for the key (same id, limits, spend and lists); the old one keeps working for
    `grace_seconds`, then gets a 401 that says the key was rotated. A second rotation ends the
    first one's grace at once."""
    if row.revoked_at is not None:
        raise Conflict(f"key {row.id} is revoked; create a new key")
    if grace_seconds < 0:
        raise ValueError("the grace period is 0 or more seconds")
    secret, now = keys.generate_key(), utcnow()
    row.previous_secret_hash, row.previous_valid_until = row.secret_hash, now + timedelta(seconds=grace_seconds)
    row.secret_hash, row.hint, row.rotated_at = keys.hash_key(secret), keys.hint(secret), now
    await record_change(session, "key", row.id)
    return NewKey(row, secret)


async def revoke_all_keys(session: AsyncSession, account_id: str, keep: str | None = None) -> list[str]:
    """Revoke every live key of the account (except `keep`); the ids revoked."""
    query = (update(ApiKey).where(ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None))
             .values(revoked_at=utcnow()).returning(ApiKey.id))
    if keep is not None:
        query = query.where(ApiKey.id != keep)
    revoked = sorted((await session.execute(query)).scalars())
    for key_id in revoked:
        await record_change(session, "key", key_id)
    return revoked


def describe_key(row: ApiKey) -> dict:
    return {
        "id": row.id, "account_id": row.account_id, "name": row.name, "hint": row.hint, "models": row.models,
        "user_id": row.user_id,
        "limit_usd": None if row.limit_units is None else units_to_usd_str(row.limit_units),
        "limit_reset": row.limit_reset, "spent_usd": units_to_usd_str(row.spent_units),
        "allowed_ips": row.allowed_ips, "created_at": _iso(row.created_at), "expires_at": _iso(row.expires_at),
        "revoked_at": _iso(row.revoked_at), "rotated_at": _iso(row.rotated_at),
        "previous_secret_valid_until": _iso(row.previous_valid_until),
        "last_used_at": _iso(row.last_used_at), "last_used_address": row.last_used_address,
    }


def _iso(value) -> str | None:
    return value.isoformat() if value else None
