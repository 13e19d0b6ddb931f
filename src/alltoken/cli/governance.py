"""Admin commands for enforcement states, model restrictions and key hygiene (attached in cli.py)."""

import click

from alltoken.cli.common import admin_command as _admin_command
from alltoken.cli.common import iso as _iso
from alltoken.cli.common import settings_of as _settings
from alltoken.cli.common import split_list as _split

# alltoken accounts warn|rate-limit|suspend|unsuspend|activate|terminate ID --reason TEXT


def _enforcement_command(name: str, state: str, summary: str, expect: str | None = None) -> click.Command:
    @click.command(name, help=summary)
    @click.argument("account_id")
    @click.option("--reason", required=True, help="Why: the account is told it, and it is kept in the history.")
    @_admin_command
    async def command(session, account_id, reason):
        from alltoken.audit import cli_actor
        from alltoken.governance.enforcement import describe_action, set_state

        action = await set_state(session, account_id, state, reason, cli_actor(), expect=expect)
        return ({"account_id": account_id, **describe_action(action)},
                f"account {account_id}: {action.previous_state} -> {action.state} ({action.reason})")

    return command


@click.command("enforcement")
@click.argument("account_id")
@_admin_command(audited=False)
async def accounts_enforcement(session, account_id):
    """Every change of the account's enforcement state: when, to what, why and by whom."""
    from alltoken.governance.enforcement import describe_action, history

    found = [describe_action(action) for action in await history(session, account_id)]
    lines = [f"{a['at']}  {a['previous_state']} -> {a['state']}  {a['actor']}  {a['reason']}" for a in found]
    return found, "\n".join(lines) or f"account {account_id} has had no enforcement actions"


ACCOUNT_COMMANDS = (
    _enforcement_command("warn", "warned", "Warn an account: it is still served, and told why."),
    _enforcement_command("rate-limit", "rate_limited", "Put an account on reduced rate limits."),
    _enforcement_command("suspend", "suspended", "Suspend an account: its requests get 403 until unsuspended."),
    _enforcement_command("unsuspend", "active", "Lift a suspension.", expect="suspended"),
    _enforcement_command("activate", "active", "Return a warned, rate-limited or suspended account to active."),
    _enforcement_command("terminate", "terminated", "Terminate an account for good: its keys are revoked."),
    accounts_enforcement,
)


@click.group()
def models():
    """Per-account model and provider restrictions."""


@models.command("restrict")
@click.option("--account", "account_id", required=True)
@click.option("--deny", help="Comma-separated model ids the account may not use.")
@click.option("--allow", help="Comma-separated model ids: the only ones the account may use.")
@click.option("--deny-providers", help="Comma-separated provider ids that may not serve the account.")
@click.option("--allow-providers", help="Comma-separated provider ids: the only ones that may serve it.")
@click.option("--clear", is_flag=True, help="Remove every restriction of the account.")
@_admin_command
async def models_restrict(session, account_id, deny, allow, deny_providers, allow_providers, clear):
    """Cut an account off models or providers (e.g. at a provider's demand); effective within a second."""
    from alltoken.audit import cli_actor
    from alltoken.governance.model_restrictions import clear as clear_restrictions
    from alltoken.governance.model_restrictions import restrict

    given = {"deny_models": _split(deny), "allow_models": _split(allow), "deny_providers": _split(deny_providers),
             "allow_providers": _split(allow_providers)}
    if clear == any(value is not None for value in given.values()):
        raise click.UsageError("give --clear, or any of --deny or --allow, --deny-providers or --allow-providers")
    lists = await (clear_restrictions(session, account_id) if clear
                   else restrict(session, account_id, given, cli_actor()))
    shown = "; ".join(f"{name.replace('_', ' ')}: {', '.join(ids)}" for name, ids in lists.items() if ids)
    return ({"account_id": account_id, **lists}, f"restrictions of {account_id}: {shown or 'none'}")


@click.command("rotate")
@click.argument("key_id")
@click.option("--grace-seconds", type=click.IntRange(min=0),
              help="How long the old secret keeps working (default: key_rotation_grace_seconds, 86400).")
@_admin_command
async def keys_rotate(session, key_id, grace_seconds):
    """Give a key a new secret; the old one works for a grace period, then gets 401."""
    from alltoken.accounts.key_hygiene import get_key, rotate_key

    if grace_seconds is None:
        grace_seconds = _settings(click.get_current_context()).key_rotation_grace_seconds
    new = await rotate_key(session, await get_key(session, key_id), grace_seconds)
    until = _iso(new.row.previous_valid_until)
    return ({"id": new.row.id, "key": new.secret, "previous_secret_valid_until": until},
            f"rotated key {new.row.id}; the old secret works until {until}\n\n    {new.secret}\n\n"
            "Store it now: it is shown only this once.")


@click.command("revoke-all")
@click.option("--account", "account_id", required=True)
@_admin_command
async def keys_revoke_all(session, account_id):
    """Revoke every key of an account (a compromised account); refused within a second everywhere."""
    from alltoken.accounts.key_hygiene import revoke_all_keys
    from alltoken.accounts.service import get_account

    await get_account(session, account_id)
    revoked = await revoke_all_keys(session, account_id)
    return ({"account_id": account_id, "revoked": revoked}, f"revoked {len(revoked)} key(s) of {account_id}")


@click.command("show")
@click.argument("key_id")
@_admin_command(audited=False)
async def keys_show(session, key_id):
    """A key's settings and when and from where it was last used (never its secret)."""
    from alltoken.accounts.key_hygiene import describe_key, get_key

    shown = describe_key(await get_key(session, key_id))
    used = f"last used {shown['last_used_at']} from {shown['last_used_address']}" if shown["last_used_at"] \
        else "never used"
    state = "revoked" if shown["revoked_at"] else "active"
    return shown, f"{shown['id']} ({shown['hint']}) of {shown['account_id']}: {state}, {used}"


KEY_COMMANDS = (keys_rotate, keys_revoke_all, keys_show)
