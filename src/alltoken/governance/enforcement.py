"""Enforcement states of an account: active, warned, rate_limited, suspended, terminated.

The current state and its reason are on the account (`accounts.status`, `status_reason`), which the
data plane checks on every request from its cache; every change is also kept as history
(`enforcement_actions`), tells the account by message (the notifications outbox), and reaches every
running process through the change feed. Termination is final and revokes the account's keys.
The audit entry is written by the caller (CLI or API), in the same transaction."""

from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alltoken.accounts.key_hygiene import revoke_all_keys
from alltoken.accounts.service import get_account
from alltoken.errors import Conflict, NotFound
from alltoken.governance import notifications
from alltoken.ids import utcnow
from alltoken.store.changes import record_change
from alltoken.store.models import Account, EnforcementAction

State = Literal["active", "warned", "rate_limited", "suspended", "terminated"]
STATES: tuple[State, ...] = get_args(State)

# What the account is told, by state: a subject, and what it means for them and what to do.
_MESSAGES = {
    "active": ("Your AllToken account is in good standing again",
               "Earlier restrictions on your account have been lifted; it works normally."),
    "warned": ("A warning about your AllToken account",
               "Your API keys keep working. If the cause continues, the account may be rate limited, suspended "
               "or terminated. Reply to this message if you have questions."),
    "rate_limited": ("Your AllToken account is rate limited",
                     "Your API keys keep working with reduced rate limits until the restriction is lifted. Reply to "
                     "this message if you have questions."),
    "suspended": ("Your AllToken account is suspended",
                  "Requests with your API keys are refused until the suspension is lifted. Reply to this message to "
                  "appeal or to have it restored."),
    "terminated": ("Your AllToken account was terminated",
                   "Termination is final: your API keys are revoked and the account cannot be restored. Reply to this "
                   "message if you believe this is a mistake."),
}


async def set_state(session: AsyncSession, account_id: str, state: str, reason: str, actor: str,
                    expect: str | None = None) -> EnforcementAction:
    """Move the account to `state` (from `expect` only, when given). A warning may be repeated, but
    only an active or warned account is warned; any other state is refused if the account is already
    in it, and nothing leaves `terminated`."""
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}: one of {', '.join(STATES)}")
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("give a reason: the account is told it")
    account = await session.get(Account, account_id, with_for_update=True)   # one change at a time
    if account is None:
        raise NotFound(f"no account {account_id}")
    current = account.status
    if current == "terminated":
        raise Conflict(f"account {account_id} was terminated; that is final")
    if expect is not None and current != expect:
        raise Conflict(f"account {account_id} is {current}, not {expect}")
    if current == state and state != "warned":
        raise Conflict(f"account {account_id} is already {state}")
    if state == "warned" and current not in ("active", "warned"):   # a warning must not lift a sanction
        raise Conflict(f"account {account_id} is {current}; a warning would lift that (activate it first)")
    action = EnforcementAction(account_id=account_id, state=state, previous_state=current, reason=reason,
                               actor=actor, created_at=utcnow())
    session.add(action)
    account.status, account.status_reason = state, None if state == "active" else reason
    if state == "terminated":
        await revoke_all_keys(session, account_id)
    subject, advice = _MESSAGES[state]
    await notifications.queue(session, account_id, f"enforcement.{state}", subject,
                              f"{subject} (account {account_id}).\n\nReason: {reason}\n\n{advice}\n")
    await record_change(session, "account", account_id)
    await session.flush()
    return action


async def history(session: AsyncSession, account_id: str) -> list[EnforcementAction]:
    """Every change of the account's state, oldest first."""
    await get_account(session, account_id)
    return list(await session.scalars(select(EnforcementAction).where(EnforcementAction.account_id == account_id)
                                      .order_by(EnforcementAction.id)))


def describe_action(action: EnforcementAction) -> dict:
    return {"id": action.id, "at": action.created_at.isoformat(), "state": action.state,
            "previous_state": action.previous_state, "reason": action.reason, "actor": action.actor}


async def notices(session: AsyncSession, account_id: str) -> dict:
    """What the account itself may see: its state now, why and since when, and the warnings it got
    (not who acted: that is for administrators)."""
    account = await get_account(session, account_id)
    actions = await history(session, account_id)
    return {"account_id": account_id, "status": account.status, "status_reason": account.status_reason,
            "status_since": (actions[-1].created_at if actions else account.created_at).isoformat(),
            "warnings": [{"at": a.created_at.isoformat(), "reason": a.reason} for a in actions if a.state == "warned"]}
