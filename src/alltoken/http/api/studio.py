"""The console Studio's key: a signed-in user gets a short-lived API key of the account, so the Studio calls
the data plane (/v1) exactly as any client does, with the account's terms gate, enforcement, limits and
credits. Sessions only: an API key already calls /v1 itself."""

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from alltoken.accounts import studio_keys, terms
from alltoken.accounts.key_hygiene import describe_key
from alltoken.http.api.audited import Audited, AuditedTransaction
from alltoken.http.api.auth.email_verification import require_verified_email
from alltoken.http.api.callers import StudioScope
from alltoken.http.api.key_actions import CreatedKey, check_terms_acceptance, terms_refusal
from alltoken.http.api.service_errors import service_errors
from alltoken.http.gateway import gateway_of
from alltoken.runtime.gateway import Gateway

router = APIRouter(prefix="/studio", tags=["studio"])


class StudioKeyRequest(BaseModel):
    accept_terms: bool = Field(False, description="Accept the terms of service in effect, if this account has not "
                                                  "(a Studio key, like any key the account makes, needs them); "
                                                  "the owner, password confirmed, may")


class StudioKey(CreatedKey):
    replaced: list[str] = Field(description="The user's previous Studio keys, revoked by this one")
    expires_at: datetime


@router.post("/key", response_model=StudioKey, status_code=201)
async def issue_key(request: Request, caller: StudioScope, audited: Audited,
                    body: StudioKeyRequest | None = None) -> StudioKey:
    """A new Studio key for the signed-in user, valid for an hour; its secret is in this response only. It
    revokes the user's previous Studio key on this account, and signing out revokes it. (An API key calls /v1
    itself.)"""
    state, user_id, account_id = gateway_of(request), caller.console_session.user_id, caller.account_id
    accept = body is not None and body.accept_terms
    require_verified_email(state, caller)
    await check_terms_acceptance(state, caller, accept)
    async with audited.begin(caller.actor) as tx:
        with service_errors(), terms_refusal(account_id):
            accepted = None if caller.is_admin else await terms.require_current(tx.session, account_id, accept)
            new, replaced = await studio_keys.issue(tx.session, account_id, user_id)
            await tx.session.flush()
        if accepted is not None:
            await tx.audit("terms.accept", account_id, {"version": accepted.version})
        await audit_studio_keys_revoked(tx, replaced, None)
        expires_at = new.row.expires_at.isoformat() if new.row.expires_at else None   # a Studio key always expires
        await tx.audit("keys.create", account_id, {"key_id": new.row.id, "studio": True, "expires_at": expires_at})
    if accepted is not None:
        state.auth.drop_account(account_id)   # this process at once; the others through the change feed
    forget_keys(state, replaced)
    return StudioKey(**describe_key(new.row), key=new.secret, replaced=replaced,
                     terms_accepted=accepted.version if accepted else None)


async def audit_studio_keys_revoked(tx: AuditedTransaction, key_ids: list[str], reason: str | None) -> None:
    """`reason`: what revoked them besides a newer Studio key ("sign-out", "password change", ...)."""
    details = {"studio": True, **({"reason": reason} if reason else {})}
    for key_id in key_ids:
        await tx.audit("keys.revoke", key_id, details)


def forget_keys(state: Gateway, key_ids: list[str]) -> None:
    """Revoked keys stop working in this process at once; in the others through the change feed."""
    for key_id in key_ids:
        state.auth.drop_key(key_id)
