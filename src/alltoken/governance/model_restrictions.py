"""Model restrictions of an account, stored: per dimension (models, providers) an allow-list or a
deny-list. Running servers carry them on the cached account (routing/restrictions.py) and apply
them within a second of a change, through the change feed."""

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts.service import get_account
from alltoken.ids import utcnow
from alltoken.store.changes import record_change
from alltoken.store.models import AccountRestriction

DIMENSIONS = {"models": ("allow_models", "deny_models"), "providers": ("allow_providers", "deny_providers")}
FIELDS = tuple(name for pair in DIMENSIONS.values() for name in pair)


async def restrictions(session: AsyncSession, account_id: str) -> dict:
    """The account's lists ({field: list or None} for every field)."""
    await get_account(session, account_id)
    row = await session.get(AccountRestriction, account_id)
    return {name: getattr(row, name) if row else None for name in FIELDS}


async def restrict(session: AsyncSession, account_id: str, lists: dict, actor: str, replace: bool = False) -> dict:
    """Set the lists given (`{field: [ids]}`). Each dimension has one rule, so an allow-list replaces a
    deny-list of the same dimension; dimensions not given keep theirs (none, with `replace`)."""
    current = await restrictions(session, account_id)
    if replace:
        current = dict.fromkeys(FIELDS)
    for allow, deny in DIMENSIONS.values():
        if lists.get(allow) is not None and lists.get(deny) is not None:
            raise ValueError(f"give either {allow} or {deny}, not both")
        if lists.get(allow) is not None or lists.get(deny) is not None:
            current[allow], current[deny] = _ids(lists.get(allow), allow), _ids(lists.get(deny), deny)
    if all(value is None for value in current.values()):
        return await clear(session, account_id)
    await session.merge(AccountRestriction(account_id=account_id, updated_by=actor, updated_at=utcnow(), **current))
    await record_change(session, "account", account_id)
    return current


async def clear(session: AsyncSession, account_id: str) -> dict:
    await get_account(session, account_id)
    await session.execute(delete(AccountRestriction).where(AccountRestriction.account_id == account_id))
    await record_change(session, "account", account_id)
    return dict.fromkeys(FIELDS)


def _ids(values: list[str] | None, name: str) -> list[str] | None:
    if values is None:
        return None
    cleaned = sorted({value.strip() for value in values if value.strip()})
    if not cleaned:
        raise ValueError(f"{name}: give at least one id")
    return cleaned
