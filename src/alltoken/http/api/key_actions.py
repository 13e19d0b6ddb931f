"""API key operations shared by the account's own endpoints and the admin ones: each runs in one
transaction with its audit entry (`audited`, as `actor`), and applies at once in this process (in the others
within a poll of the change feed); `owner` confines an operation to one account's keys."""

from contextlib import contextmanager
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from alltoken.accounts import terms
from alltoken.accounts.key_hygiene import account_keys, describe_key, get_key, revoke_all_keys, rotate_key
from alltoken.accounts.roles import CONFIRMED
from alltoken.accounts.service import create_key, get_account, revoke_key
from alltoken.http.api.audited import Change
from alltoken.http.api.callers import AccountCaller, authorize
from alltoken.http.api.service_errors import service_errors
from alltoken.http.errors import forbidden
from alltoken.runtime.gateway import Gateway
from alltoken.runtime.terms_gate import not_accepted_message


class KeyCreate(BaseModel):
    name: str | None = Field(None, max_length=200)
    limit_usd: str | None = Field(None, description="Spending limit in USD, a decimal string")
    limit_reset: Literal["daily", "weekly", "monthly"] | None = None
    models: list[str] | None = Field(None, description="Public model ids the key may use")
    expires_at: AwareDatetime | None = None
    allowed_ips: list[str] | None = Field(None, description="CIDR networks (IPv4, IPv6) the key may be used from")
    accept_terms: bool = Field(False, description="Accept the terms of service in effect, if this account has not "
                                                  "(an account creating its own key must have accepted them); like "
                                                  "POST /api/terms/accept, this needs the owner's console session "
                                                  "with a freshly confirmed password")


class KeyView(BaseModel):
    id: str
    account_id: str
    user_id: str | None = Field(None, description="The team member whose key it is (their limit applies)")
    name: str | None
    hint: str = Field(description="Enough of the secret to recognise it, not to use it")
    models: list[str] | None
    limit_usd: str | None
    limit_reset: str | None
    spent_usd: str
    allowed_ips: list[str] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    rotated_at: datetime | None
    previous_secret_valid_until: datetime | None
    last_used_at: datetime | None
    last_used_address: str | None


class CreatedKey(KeyView):
    key: str = Field(description="The secret: shown only in this response")
    terms_accepted: str | None = Field(None, description="The terms version accepted with this request, if any")


class Rotation(BaseModel):
    grace_seconds: int | None = Field(default=None, ge=0, description="How long the old secret keeps working "
                                      "(default: the server's key_rotation_grace_seconds)")


class RevokedKeys(BaseModel):
    account_id: str
    revoked: list[str]


async def list_keys(state: Gateway, account_id: str) -> list[KeyView]:
    async with state.sessions() as session:
        with service_errors():
            await get_account(session, account_id)
            return [KeyView(**describe_key(row)) for row in await account_keys(session, account_id)]


async def show_key(state: Gateway, key_id: str, owner: str | None = None) -> KeyView:
    async with state.sessions() as session:
        with service_errors():
            return KeyView(**describe_key(await get_key(session, key_id, owner)))


async def create(state: Gateway, audited: Change, actor: str, account_id: str, spec: KeyCreate,
                 needs_terms: bool = False, user_id: str | None = None) -> CreatedKey:
    """`needs_terms`: the account makes its own key, so it must have accepted the terms in effect (or accept
    them now with `accept_terms`); an administrator making a key for an account need not. `user_id`: the
    team member whose key it is."""
    async with audited.begin(actor) as tx:
        with service_errors(), terms_refusal(account_id):
            accepted = await terms.require_current(tx.session, account_id, spec.accept_terms) if needs_terms else None
            new = await create_key(tx.session, account_id, **spec.model_dump(exclude={"accept_terms"}),
                                   user_id=user_id)
            await tx.session.flush()
        if accepted is not None:
            await tx.audit("terms.accept", account_id, {"version": accepted.version})
        await tx.audit("keys.create", account_id,
                       {"key_id": new.row.id, **_details(spec), **({"member": user_id} if user_id else {})})
    if accepted is not None:
        state.auth.drop_account(account_id)   # this process at once; the others through the change feed
    return CreatedKey(**describe_key(new.row), key=new.secret, terms_accepted=accepted.version if accepted else None)


async def check_terms_acceptance(state: Gateway, caller: AccountCaller, accept_terms: bool) -> None:
    """Accepting the terms along with a new key is accepting them (accounts/roles.py, CONFIRMED); asked of the
    caller only when the account owes them (administrators' accounts never do)."""
    if not accept_terms or caller.is_admin:
        return
    async with state.sessions() as session:
        if await terms.accepts_current(session, caller.account_id):
            return
    authorize(caller, CONFIRMED)


@contextmanager
def terms_refusal(account_id: str):
    try:
        yield
    except terms.TermsNotAccepted as refused:
        raise forbidden(not_accepted_message(refused.version, account_id, refused.url)
                        + ' Or send "accept_terms": true with this request.', code="terms_not_accepted") from None


async def rotate(state: Gateway, audited: Change, actor: str, key_id: str, rotation: Rotation,
                 owner: str | None = None) -> CreatedKey:
    grace = state.settings.key_rotation_grace_seconds if rotation.grace_seconds is None else rotation.grace_seconds
    async with audited.begin(actor) as tx:
        with service_errors():
            new = await rotate_key(tx.session, await get_key(tx.session, key_id, owner), grace)
        await tx.audit("keys.rotate", key_id, {"grace_seconds": grace})
    state.auth.drop_key(key_id)
    return CreatedKey(**describe_key(new.row), key=new.secret)


async def revoke(state: Gateway, audited: Change, actor: str, key_id: str, owner: str | None = None) -> KeyView:
    async with audited.begin(actor) as tx:
        with service_errors():
            await get_key(tx.session, key_id, owner)
            row = await revoke_key(tx.session, key_id)
        await tx.audit("keys.revoke", key_id)
    state.auth.drop_key(key_id)
    return KeyView(**describe_key(row))


async def revoke_all(state: Gateway, audited: Change, actor: str, account_id: str,
                     keep: str | None = None) -> RevokedKeys:
    async with audited.begin(actor) as tx:
        with service_errors():
            await get_account(tx.session, account_id)
        revoked = await revoke_all_keys(tx.session, account_id, keep=keep)
        await tx.audit("keys.revoke-all", account_id, {"revoked": revoked, **({"kept": keep} if keep else {})})
    for key_id in revoked:
        state.auth.drop_key(key_id)
    return RevokedKeys(account_id=account_id, revoked=revoked)


def _details(spec: KeyCreate) -> dict:
    """What the audit log keeps of a new key's settings (its name is the owner's: left out)."""
    return spec.model_dump(mode="json", exclude={"name", "accept_terms"}, exclude_none=True)
