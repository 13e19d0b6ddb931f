"""The account's own endpoints, for a console session or one of its API keys: its notices (enforcement
state and warnings) and its keys. Only the caller's account is reachable: another account's key id is
a 404, exactly like one that does not exist."""

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from ..accounts.roles import MANAGE, may
from ..gateway.client_address import client_address
from ..gateway.errors import forbidden
from ..governance.enforcement import notices
from ..store.models import ApiKey
from . import key_actions
from .callers import AccountCaller, AccountScope, KeysScope
from .email_verification_routes import require_verified_email
from .key_actions import CreatedKey, KeyCreate, KeyView, RevokedKeys, Rotation
from .notice_extras import TermsOwed, billing_and_terms
from .service_errors import service_errors

router = APIRouter(prefix="/account", tags=["account"])


def _require_unrestricted(caller: AccountCaller) -> None:
    """Only a signed-in user or a key with no model list, spending limit, IP allow-list or expiry may make keys
    or act on other keys, so a restricted key cannot mint itself a wider one."""
    key = caller.key
    if key is None:
        return
    if key.models is not None or key.limit_units is not None or key.networks is not None or key.expires_at:
        raise forbidden("only an unrestricted key of the account (no model list, spending limit, IP allow-list or "
                        "expiry) may create keys or change other keys", code="key_management_not_allowed")


def _acting_on_another_key(caller: AccountCaller, key_id: str) -> None:
    """Any key may rotate or revoke itself; other keys need an unrestricted caller."""
    if caller.key is None or key_id != caller.key.id:
        _require_unrestricted(caller)


async def _own_key_only(request: Request, caller: AccountCaller, key_id: str) -> None:
    """A role that may make keys but not manage the account (developer) rotates and revokes only its own;
    another account's key is left to the action, which answers 404 as for one that does not exist."""
    if may(caller.role, MANAGE):
        return
    async with request.app.state.gateway.sessions() as session:
        row = await session.get(ApiKey, key_id)
    if row is not None and row.account_id == caller.account_id and row.user_id != caller.member_id:
        raise forbidden(f"your role in this account ({caller.role}) may rotate or revoke only your own keys; "
                        "owners and admins may change any", code="role_forbidden")


def _audit(request: Request, caller: AccountCaller) -> tuple[str, str | None]:
    """How the audit log names the caller (user:... or key:...), and the client's address."""
    return caller.actor, client_address(request)


class AccountWarning(BaseModel):
    at: datetime
    reason: str


class Notices(BaseModel):
    account_id: str
    status: str
    status_reason: str | None
    status_since: datetime
    warnings: list[AccountWarning]
    billing_hold: str | None = None          # payment_failed | payment_disputed: API access held until paid
    billing_hold_reason: str | None = None
    terms_owed: TermsOwed | None = None      # a material terms version to accept, and by when


class RevokeAll(BaseModel):
    keep_current: bool = False     # keep the API key making this call working (no effect from the console)


@router.get("/notices", response_model=Notices)
async def account_notices(request: Request, caller: AccountScope) -> Notices:
    """The account's enforcement state (active, warned, rate_limited, suspended, terminated), why and since when,
    its warnings, any billing hold, and terms it must accept."""
    state = request.app.state.gateway
    async with state.sessions() as session:
        with service_errors():
            return Notices(**await notices(session, caller.account_id),
                           **await billing_and_terms(state, session, caller.account_id))


@router.get("/keys", response_model=list[KeyView])
async def list_keys(request: Request, caller: AccountScope) -> list[KeyView]:
    """The account's keys, revoked ones included; never their secrets."""
    return await key_actions.list_keys(request.app.state.gateway, caller.account_id)


@router.get("/keys/{key_id}", response_model=KeyView)
async def show_key(key_id: str, request: Request, caller: AccountScope) -> KeyView:
    return await key_actions.show_key(request.app.state.gateway, key_id, owner=caller.account_id)


@router.post("/keys", response_model=CreatedKey, status_code=201)
async def create_key(spec: KeyCreate, request: Request, caller: KeysScope) -> CreatedKey:
    """A new key; its secret is in this response only. A team member's key is theirs: their limit applies."""
    _require_unrestricted(caller)
    require_verified_email(request.app.state.gateway, caller)
    return await key_actions.create(request.app.state.gateway, caller.account_id, spec, *_audit(request, caller),
                                    needs_terms=not caller.is_admin, user_id=caller.member_id)


@router.post("/keys/revoke-all", response_model=RevokedKeys)
async def revoke_all(request: Request, caller: AccountScope, body: RevokeAll | None = None) -> RevokedKeys:
    """Revoke every key of the account (the calling one too, unless `keep_current`)."""
    _require_unrestricted(caller)
    keep = caller.key.id if caller.key and body and body.keep_current else None
    return await key_actions.revoke_all(request.app.state.gateway, caller.account_id, *_audit(request, caller),
                                        keep=keep)


@router.post("/keys/{key_id}/rotate", response_model=CreatedKey)
async def rotate_key(key_id: str, request: Request, caller: KeysScope, rotation: Rotation | None = None
                     ) -> CreatedKey:
    """A new secret for the key; the old one keeps working for the grace period. Any key may rotate
    itself; other keys need an unrestricted key."""
    _acting_on_another_key(caller, key_id)
    await _own_key_only(request, caller, key_id)
    return await key_actions.rotate(request.app.state.gateway, key_id, rotation or Rotation(),
                                    *_audit(request, caller), owner=caller.account_id)


@router.post("/keys/{key_id}/revoke", response_model=KeyView)
async def revoke_key(key_id: str, request: Request, caller: KeysScope) -> KeyView:
    """Revoke the key at once. Any key may revoke itself; other keys need an unrestricted key."""
    _acting_on_another_key(caller, key_id)
    await _own_key_only(request, caller, key_id)
    return await key_actions.revoke(request.app.state.gateway, key_id, *_audit(request, caller),
                                    owner=caller.account_id)
