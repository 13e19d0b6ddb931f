"""/api/account/keys: the account's own API keys, for a console session or one of its API keys. Only the
caller's account is reachable: another account's key id is a 404, exactly like one that does not exist."""

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from alltoken.accounts import roles
from alltoken.accounts.key_hygiene import get_key
from alltoken.accounts.roles import KEYS
from alltoken.http.api import key_actions
from alltoken.http.api.audited import Audited
from alltoken.http.api.auth.email_verification import require_verified_email
from alltoken.http.api.callers import AccountCaller, AccountScope, KeysScope, OwnerScope, account_caller, authorize
from alltoken.http.api.key_actions import CreatedKey, KeyCreate, KeyView, RevokedKeys, Rotation
from alltoken.http.api.service_errors import service_errors
from alltoken.http.errors import forbidden
from alltoken.http.gateway import gateway_of
from alltoken.store.models import TeamMember

router = APIRouter(prefix="/account", tags=["account"])


def key_target(may_touch: Callable[[str | None, str | None, str | None, str | None], bool], refusal: str):
    """A dependency: the caller, if they may act on the key in the path. Any key may do it to itself; otherwise
    the caller needs KEYS, and `may_touch` (accounts/roles.py) judges by whose key it is. Another account's
    key is a 404, as one that does not exist."""
    async def allowed(key_id: str, request: Request, caller: AccountCaller = Depends(account_caller)
                      ) -> AccountCaller:
        if caller.key is not None and caller.key.id == key_id:
            return caller
        authorize(caller, KEYS)
        async with gateway_of(request).sessions() as session:
            with service_errors():
                row = await get_key(session, key_id, caller.account_id)
            holder = await session.get(TeamMember, (row.account_id, row.user_id)) if row.user_id else None
        if not may_touch(caller.role, caller.member_id, row.user_id, holder.role if holder else None):
            raise forbidden(refusal, code="not_key_holder")
        return caller
    return allowed


_rotatable = key_target(roles.may_rotate, "only the key's holder may rotate it (that hands out its new secret), or "
                                           "an owner for the keys of members below them")
_revocable = key_target(roles.may_revoke, "only the key's holder may revoke it, or an owner or admin for the keys "
                                          "of members not above them")


class RevokeAll(BaseModel):
    keep_current: bool = False     # keep the API key making this call working (no effect from the console)


@router.get("/keys", response_model=list[KeyView])
async def list_keys(request: Request, caller: AccountScope) -> list[KeyView]:
    """The account's keys, revoked ones included; never their secrets."""
    return await key_actions.list_keys(gateway_of(request), caller.account_id)


@router.get("/keys/{key_id}", response_model=KeyView)
async def show_key(key_id: str, request: Request, caller: AccountScope) -> KeyView:
    return await key_actions.show_key(gateway_of(request), key_id, owner=caller.account_id)


@router.post("/keys", response_model=CreatedKey, status_code=201)
async def create_key(spec: KeyCreate, request: Request, caller: KeysScope, audited: Audited) -> CreatedKey:
    """A new key; its secret is in this response only. A team member's key is theirs: their limit applies."""
    state = gateway_of(request)
    require_verified_email(state, caller)
    await key_actions.check_terms_acceptance(state, caller, spec.accept_terms)
    return await key_actions.create(state, audited, caller.actor, caller.account_id, spec,
                                    needs_terms=not caller.is_admin, user_id=caller.member_id)


@router.post("/keys/revoke-all", response_model=RevokedKeys)
async def revoke_all(request: Request, caller: OwnerScope, audited: Audited,
                     body: RevokeAll | None = None) -> RevokedKeys:
    """Revoke every key of the account (the calling one too, unless `keep_current`): an owner's call, as it
    takes the keys of everyone."""
    keep = caller.key.id if caller.key and body and body.keep_current else None
    return await key_actions.revoke_all(gateway_of(request), audited, caller.actor, caller.account_id,
                                        keep=keep)


@router.post("/keys/{key_id}/rotate", response_model=CreatedKey)
async def rotate_key(key_id: str, request: Request, audited: Audited,
                     caller: AccountCaller = Depends(_rotatable), rotation: Rotation | None = None) -> CreatedKey:
    """A new secret for the key; the old one keeps working for the grace period. The new secret is the key
    holder's: any key may rotate itself, a person their own keys, an owner those of members below them."""
    return await key_actions.rotate(gateway_of(request), audited, caller.actor, key_id,
                                    rotation or Rotation(), owner=caller.account_id)


@router.post("/keys/{key_id}/revoke", response_model=KeyView)
async def revoke_key(key_id: str, request: Request, audited: Audited,
                     caller: AccountCaller = Depends(_revocable)) -> KeyView:
    """Revoke the key at once: any key itself, a person their own keys, a manager those of members not above
    them."""
    return await key_actions.revoke(gateway_of(request), audited, caller.actor, key_id,
                                    owner=caller.account_id)
