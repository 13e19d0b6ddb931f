"""`alltoken keys ...`: create, show, rotate and revoke API keys."""

import click

from alltoken.cli.common import admin_command, iso, parse_time, settings_of, split_list


@click.group()
def keys():
    """Create and revoke API keys."""


@keys.command("create")
@click.option("--account", "account_id", required=True)
@click.option("--name")
@click.option("--limit-usd", help="Spending limit in USD, e.g. 25 or 2.50.")
@click.option("--limit-reset", type=click.Choice(["daily", "weekly", "monthly"]),
              help="Start the limit afresh every UTC day, ISO week or month.")
@click.option("--models", help="Comma-separated model ids the key may use.")
@click.option("--expires", help="Expiry as ISO 8601, e.g. 2027-01-31T00:00:00Z.")
@click.option("--member", "user_id", help="USER_ID of a team member: the key is theirs, their limit applies.")
@click.option("--accept-terms", is_flag=True, help="The owner accepts the terms of service in effect, if not yet.")
@click.option("--ips", help="Comma-separated CIDR networks the key may be used from, e.g. 10.0.0.0/8,2001:db8::/32.")
@admin_command
async def keys_create(session, account_id, name, limit_usd, limit_reset, models, expires, user_id, accept_terms, ips):
    from alltoken.accounts.service import create_key
    from alltoken.accounts.terms import require_current
    from alltoken.money import units_to_usd_str

    new = await create_key(session, account_id, name=name, limit_usd=limit_usd, models=split_list(models),
                           expires_at=parse_time(expires, "--expires"), limit_reset=limit_reset, user_id=user_id,
                           allowed_ips=split_list(ips))
    accepted = await require_current(session, account_id, accept_now=True) if accept_terms else None
    row = new.row
    return ({"id": row.id, "key": new.secret, "account_id": row.account_id, "name": row.name,
          "limit_usd": units_to_usd_str(row.limit_units) if row.limit_units is not None else None,
          "limit_reset": row.limit_reset, "user_id": row.user_id,
          "models": row.models, "expires_at": iso(row.expires_at), "allowed_ips": row.allowed_ips,
          "terms_accepted": accepted.version if accepted else None},
         f"created key {row.id} for account {row.account_id}\n\n    {new.secret}\n\n"
         "Store it now: it is shown only this once.")


@keys.command("revoke")
@click.argument("key_id")
@admin_command
async def keys_revoke(session, key_id):
    from alltoken.accounts.service import revoke_key

    row = await revoke_key(session, key_id)
    return ({"id": row.id, "revoked_at": iso(row.revoked_at)}, f"revoked key {row.id}")


@keys.command("rotate")
@click.argument("key_id")
@click.option("--grace-seconds", type=click.IntRange(min=0),
              help="How long the old secret keeps working (default: key_rotation_grace_seconds, 86400).")
@admin_command
async def keys_rotate(session, key_id, grace_seconds):
    """Give a key a new secret; the old one works for a grace period, then gets 401."""
    from alltoken.accounts.key_hygiene import get_key, rotate_key

    if grace_seconds is None:
        grace_seconds = settings_of(click.get_current_context()).key_rotation_grace_seconds
    new = await rotate_key(session, await get_key(session, key_id), grace_seconds)
    until = iso(new.row.previous_valid_until)
    return ({"id": new.row.id, "key": new.secret, "previous_secret_valid_until": until},
            f"rotated key {new.row.id}; the old secret works until {until}\n\n    {new.secret}\n\n"
            "Store it now: it is shown only this once.")


@keys.command("revoke-all")
@click.option("--account", "account_id", required=True)
@admin_command
async def keys_revoke_all(session, account_id):
    """Revoke every key of an account (a compromised account); refused within a second everywhere."""
    from alltoken.accounts.key_hygiene import revoke_all_keys
    from alltoken.accounts.service import get_account

    await get_account(session, account_id)
    revoked = await revoke_all_keys(session, account_id)
    return ({"account_id": account_id, "revoked": revoked}, f"revoked {len(revoked)} key(s) of {account_id}")


@keys.command("show")
@click.argument("key_id")
@admin_command(audited=False)
async def keys_show(session, key_id):
    """A key's settings and when and from where it was last used (never its secret)."""
    from alltoken.accounts.key_hygiene import describe_key, get_key

    shown = describe_key(await get_key(session, key_id))
    used = f"last used {shown['last_used_at']} from {shown['last_used_address']}" if shown["last_used_at"] \
        else "never used"
    state = "revoked" if shown["revoked_at"] else "active"
    return shown, f"{shown['id']} ({shown['hint']}) of {shown['account_id']}: {state}, {used}"
