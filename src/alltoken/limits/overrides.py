"""Rate limits set in the database: an account's tier and own limits (also per model), a key's own
limits. Every change goes to the change feed, so running servers apply it within a second."""

from dataclasses import replace

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.config.rate_limits import NO_LIMITS, Limits, RateLimitSettings
from alltoken.errors import NotFound
from alltoken.ids import utcnow
from alltoken.limits.policy import Overrides, resolve
from alltoken.store.changes import record_change
from alltoken.store.models import Account, ApiKey, RateLimitSetting


async def stored_overrides(session: AsyncSession, *subject_ids: str) -> dict[str, Overrides]:
    rows = await session.scalars(select(RateLimitSetting).where(RateLimitSetting.subject_id.in_(subject_ids)))
    return {row.subject_id: _overrides(row) for row in rows}


def _overrides(row: RateLimitSetting) -> Overrides:
    return Overrides(row.tier, Limits(row.rpm, row.tpm, row.concurrency),
                     {model: Limits(**limits) for model, limits in (row.models or {}).items()})


def changed(current: Overrides, *, clear: bool = False, tier: str | None = None, model: str | None = None,
            **limits: int | None) -> Overrides:
    """`current` with the given limits set (for one model, with `model`), after dropping what was
    stored (only that model's, with `model`) when `clear`."""
    given = {name: value for name, value in limits.items() if value is not None}
    if model is not None:
        base = NO_LIMITS if clear else current.models.get(model, NO_LIMITS)
        return replace(current, models={**current.models, model: replace(base, **given)})
    stored = Overrides() if clear else current
    return replace(stored, tier=tier or stored.tier, limits=replace(stored.limits, **given))


async def store(session: AsyncSession, settings: RateLimitSettings, kind: str, subject_id: str,
                overrides: Overrides) -> dict:
    """Save an account's or key's (`kind`) overrides (nothing stored when empty); returns its view."""
    account, key = await _subject(session, kind, subject_id)
    if key is not None and (overrides.tier or overrides.models):
        raise ValueError("a key has its own rpm, tpm and concurrency only; tiers and model limits are an account's")
    if overrides.tier:
        settings.check_tier(overrides.tier)
    models = {model: limits.as_dict() for model, limits in overrides.models.items() if limits.any}
    await session.execute(delete(RateLimitSetting).where(RateLimitSetting.subject_id == subject_id))
    if overrides.tier or overrides.limits.any or models:
        session.add(RateLimitSetting(subject_id=subject_id, tier=overrides.tier, **overrides.limits.as_dict(),
                                     models=models or None, updated_at=utcnow()))
    await record_change(session, kind, subject_id)
    await session.flush()
    return await view(session, settings, kind, subject_id)


async def current(session: AsyncSession, kind: str, subject_id: str) -> Overrides:
    await _subject(session, kind, subject_id)
    return (await stored_overrides(session, subject_id)).get(subject_id, Overrides())


async def view(session: AsyncSession, settings: RateLimitSettings, kind: str, subject_id: str) -> dict:
    """What is stored for an account or key, and the limits in force for it (tier and state applied)."""
    account, key = await _subject(session, kind, subject_id)
    found = await stored_overrides(session, account.id, subject_id)
    resolved = resolve(settings, found.get(account.id), account.status)
    own = found.get(subject_id, Overrides())
    if key is not None:
        return {"key_id": key.id, "account_id": account.id, "overrides": own.limits.as_dict(),
                "limits": resolved.for_key(own.limits).as_dict()}
    return {"account_id": account.id, "tier": own.tier, "effective_tier": resolved.tier,
            "overrides": {**own.limits.as_dict(), "models": {m: v.as_dict() for m, v in own.models.items()}},
            "limits": {"account": resolved.account.as_dict(), "key": resolved.for_key(NO_LIMITS).as_dict(),
                       "models": {m: v.as_dict() for m, v in sorted(resolved.models.items())}}}


async def _subject(session: AsyncSession, kind: str, subject_id: str):
    """The account (and the key, for a key) a setting belongs to."""
    if kind == "key":
        key = await session.get(ApiKey, subject_id)
        if key is None:
            raise NotFound(f"no key {subject_id}")
        return await _account(session, key.account_id), key
    return await _account(session, subject_id), None


async def _account(session: AsyncSession, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account {account_id}")
    return account
