"""The `alltoken` command: `serve`, and admin commands that act on the configured database."""

import sys

import click

from alltoken.cli import limits as cli_limits
from alltoken.cli.common import admin_command as _admin_command
from alltoken.cli.common import iso as _iso
from alltoken.cli.common import parse_time as _parse_time
from alltoken.cli.common import split_list as _split
from alltoken.cli.deletion import accounts_delete
from alltoken.cli.errors import ReportingGroup
from alltoken.cli.governance import ACCOUNT_COMMANDS, KEY_COMMANDS, models
from alltoken.cli.images import moderation_log
from alltoken.cli.teams import teams, users
from alltoken.cli.terms import terms
from alltoken.config import load_settings


@click.group(cls=ReportingGroup)
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Config file (default ./alltoken.yaml).")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_context
def main(ctx, config, as_json):
    """AllToken: one API for many LLM providers, with keys, credits and usage."""
    ctx.ensure_object(dict)
    ctx.obj.update(config=config, json=as_json)


main.add_command(users)   # cli/teams.py: users and teams
main.add_command(teams)
main.add_command(terms)   # cli/terms.py
main.add_command(moderation_log)   # cli/images.py


@main.command()
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Config file (default ./alltoken.yaml).")
@click.option("--host", help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8080).")
@click.option("--workers", type=int, help="Processes (needs Redis when more than 1).")
@click.pass_context
def serve(ctx, config, host, port, workers):
    """Run the gateway."""
    from alltoken.server.serve import run_server

    settings = load_settings(config or ctx.obj.get("config"), {"host": host, "port": port, "workers": workers})
    sys.exit(run_server(settings))


@main.group()
def accounts():
    """Create and manage accounts."""


def _country_allowed(ctx, _param, country: str | None) -> str | None:
    """A sign-up from a country `regions:` blocks is refused, as the API refuses its requests."""
    if country is None:
        return None
    from alltoken.cli.common import settings_of
    from alltoken.http.region_gate import RegionPolicy

    refused = RegionPolicy(settings_of(ctx).regions).refusal(country.strip().upper())
    if refused is not None:
        raise click.ClickException(f"{refused.code}: {refused.message}")
    return country.strip().upper()


accounts.add_command(accounts_delete)


@accounts.command("create")
@click.option("--email", required=True)
@click.option("--name")
@click.option("--accept-terms", is_flag=True, help="The owner accepts the terms of service in effect.")
@click.option("--country", callback=_country_allowed,
              help="The owner's country (ISO 3166-1 alpha-2): refused when `regions:` blocks it.")
@_admin_command
async def accounts_create(session, email, name, accept_terms, country):
    from alltoken.accounts.service import create_account
    from alltoken.accounts.terms import require_current

    account = await create_account(session, email, name)
    await session.flush()   # the acceptance refers to the account
    accepted = await require_current(session, account.id, accept_now=True) if accept_terms else None
    return ({"id": account.id, "email": account.email, "name": account.name, "status": account.status,
             "terms_version": accepted.version if accepted else None},
            f"created account {account.id} ({account.email})")


@accounts.command("routing")
@click.argument("account_id")
@click.option("--allow-providers", help="Comma-separated provider ids: only these may serve this account.")
@click.option("--deny-providers", help="Comma-separated provider ids that must never serve it.")
@click.option("--allow-regions", help="Comma-separated regions (the providers' `region`), e.g. eu.")
@click.option("--deny-regions", help="Comma-separated regions that must never serve it.")
@click.option("--clear", is_flag=True, help="Remove the account's routing policy.")
@_admin_command
async def accounts_routing(session, account_id, allow_providers, deny_providers, allow_regions, deny_regions, clear):
    """Set which providers and regions may serve an account; it wins over request preferences."""
    from alltoken.accounts.service import set_routing_policy

    if not clear and not any((allow_providers, deny_providers, allow_regions, deny_regions)):
        raise click.UsageError("give at least one of --allow-providers, --deny-providers, --allow-regions, "
                               "--deny-regions, or --clear")
    policy = None if clear else {name: _split(value) for name, value in (
        ("allow_providers", allow_providers), ("deny_providers", deny_providers),
        ("allow_regions", allow_regions), ("deny_regions", deny_regions)) if value}
    account = await set_routing_policy(session, account_id, policy or None)
    shown = "; ".join(f"{k.replace('_', ' ')}: {', '.join(v)}" for k, v in (account.routing_policy or {}).items())
    return ({"id": account.id, "routing_policy": account.routing_policy},
            f"routing policy of {account.id}: {shown or 'none (every provider and region)'}")


@main.group()
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
@_admin_command
async def keys_create(session, account_id, name, limit_usd, limit_reset, models, expires, user_id, accept_terms, ips):
    from alltoken.accounts.service import create_key
    from alltoken.accounts.terms import require_current
    from alltoken.money import units_to_usd_str

    new = await create_key(session, account_id, name=name, limit_usd=limit_usd, models=_split(models),
                           expires_at=_parse_time(expires, "--expires"), limit_reset=limit_reset, user_id=user_id,
                           allowed_ips=_split(ips))
    accepted = await require_current(session, account_id, accept_now=True) if accept_terms else None
    row = new.row
    return ({"id": row.id, "key": new.secret, "account_id": row.account_id, "name": row.name,
          "limit_usd": units_to_usd_str(row.limit_units) if row.limit_units is not None else None,
          "limit_reset": row.limit_reset, "user_id": row.user_id,
          "models": row.models, "expires_at": _iso(row.expires_at), "allowed_ips": row.allowed_ips,
          "terms_accepted": accepted.version if accepted else None},
         f"created key {row.id} for account {row.account_id}\n\n    {new.secret}\n\n"
         "Store it now: it is shown only this once.")


@keys.command("revoke")
@click.argument("key_id")
@_admin_command
async def keys_revoke(session, key_id):
    from alltoken.accounts.service import revoke_key

    row = await revoke_key(session, key_id)
    return ({"id": row.id, "revoked_at": _iso(row.revoked_at)}, f"revoked key {row.id}")


@main.group()
def credits():
    """Grant credits and read balances."""


@credits.command("grant")
@click.option("--account", "account_id", required=True)
@click.option("--usd", required=True, help="Amount in USD, e.g. 10 or 0.50.")
@click.option("--kind", type=click.Choice(["topup", "promo", "adjustment"]), default="topup", show_default=True)
@click.option("--expires", help="Expiry of promotional credit, ISO 8601.")
@click.option("--note")
@_admin_command
async def credits_grant(session, account_id, usd, kind, expires, note):
    from alltoken.accounts.service import get_account
    from alltoken.audit import cli_actor
    from alltoken.billing.expiry import account_buckets
    from alltoken.billing.ledger import grant
    from alltoken.ids import utcnow
    from alltoken.money import units_to_usd_str

    await get_account(session, account_id)
    entry = await grant(session, account_id, usd, kind=kind, expires_at=_parse_time(expires, "--expires"),
                        note=note, actor=cli_actor())
    await session.flush()
    balance = units_to_usd_str((await account_buckets(session, account_id)).balance_at(utcnow()))
    return ({"entry_id": entry.id, "account_id": account_id, "kind": kind,
          "amount_usd": units_to_usd_str(entry.amount_units), "balance_usd": balance},
         f"granted {units_to_usd_str(entry.amount_units)} USD ({kind}) to {account_id}; balance {balance} USD")


@credits.command("adjust")
@click.option("--account", "account_id", required=True)
@click.option("--usd", required=True, help="USD to add, or take back when negative (e.g. -1.25); not zero.")
@click.option("--reason", required=True, help="Why; recorded with the entry and shown to the account.")
@_admin_command
async def credits_adjust(session, account_id, usd, reason):
    """Correct a billing error: an `adjustment` entry recording the reason and you as its actor."""
    from alltoken.billing.corrections import adjust

    return await _correction(session, adjust, account_id, usd, reason)


@credits.command("refund")
@click.option("--account", "account_id", required=True)
@click.option("--usd", required=True, help="Paid credit being paid back to the customer outside AllToken.")
@click.option("--reason", required=True, help="Why; recorded with the entry and shown to the account.")
@_admin_command
async def credits_refund(session, account_id, usd, reason):
    """Record a refund of unspent paid credit (never promotional or consumed credit)."""
    from alltoken.billing.corrections import refund

    return await _correction(session, refund, account_id, usd, reason)


async def _correction(session, write, account_id, usd, reason) -> tuple[dict, str]:
    from alltoken.money import units_to_usd_str

    done = await write(session, account_id, usd, reason, _cli_actor())
    amount, balance = units_to_usd_str(done.entry.amount_units), units_to_usd_str(done.balance_units)
    refundable = units_to_usd_str(done.refundable_units)
    return ({"entry_id": done.entry.id, "account_id": account_id, "kind": done.entry.kind, "amount_usd": amount,
             "reason": done.entry.note, "actor": done.entry.actor, "balance_usd": balance,
             "refundable_usd": refundable},
            f"{done.entry.kind} of {amount} USD on {account_id}; balance {balance} USD ({refundable} refundable)")


def _cli_actor() -> str:
    """Who made a correction from the command line: the operating-system user running it."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no user name in the environment or the password database
        return "cli:unknown"


@credits.command("line")
@click.option("--account", "account_id", required=True)
@click.option("--usd", required=True, help="How far below zero the account may spend (postpaid); 0 ends it.")
@_admin_command
async def credits_line(session, account_id, usd):
    """Give an account a credit line: it may keep spending until its balance reaches -USD."""
    from alltoken.accounts.service import set_credit_line
    from alltoken.money import units_to_usd_str

    account = await set_credit_line(session, account_id, usd)
    line = units_to_usd_str(account.credit_line_units)
    return ({"account_id": account.id, "credit_line_usd": line}, f"credit line of {account.id}: {line} USD")


@credits.command("balance")
@click.option("--account", "account_id", required=True)
@_admin_command(audited=False)
async def credits_balance(session, account_id):
    from alltoken.accounts.service import get_account
    from alltoken.billing.expiry import account_buckets
    from alltoken.ids import utcnow
    from alltoken.money import units_to_usd_str

    await get_account(session, account_id)
    buckets, now = await account_buckets(session, account_id), utcnow()   # expired credit is gone, written off or not
    balance, paid, promo = (units_to_usd_str(units) for units in (buckets.balance_at(now), buckets.paid,
                                                                   buckets.promo_at(now)))
    return ({"account_id": account_id, "balance_usd": balance, "paid_usd": paid, "promo_usd": promo},
            f"{account_id}: {balance} USD ({paid} paid, {promo} promotional)")


@main.group()
def codes():
    """Redemption codes for promotional credit."""


@codes.command("create")
@click.option("--usd", required=True, help="Credit each use grants, e.g. 5.")
@click.option("--count", type=int, default=1, show_default=True, help="How many codes.")
@click.option("--uses", type=int, default=1, show_default=True, help="How many accounts may use each code.")
@click.option("--expires", help="When the codes stop working, ISO 8601.")
@_admin_command
async def codes_create(session, usd, count, uses, expires):
    from alltoken.billing.codes import create_codes

    made = await create_codes(session, usd, count=count, uses=uses, expires_at=_parse_time(expires, "--expires"))
    return ({"codes": made, "usd": usd, "uses": uses, "expires_at": expires},
            "\n".join(made) + f"\n\n{len(made)} code(s) worth {usd} USD each; shown only this once.")


@main.command("audit-log")
@click.option("--since", help="Only entries from this time on, ISO 8601.")
@click.option("--target", help="Only entries about this target: an account or key id, or model:<id>.")
@_admin_command(audited=False)
async def audit_log(session, since, target):
    """Every administrative and security action: who, what, when, from where."""
    from alltoken.audit import entries

    found = await entries(session, since=_parse_time(since, "--since"), target=target, limit=None)
    lines = [f"{e['at']}  {e['actor']}  {e['action']}  {e['target'] or ''}" for e in found]
    return found, "\n".join(lines) or "no audit entries"


for _command in ACCOUNT_COMMANDS:   # cli/governance.py: enforcement, restrictions, key hygiene
    accounts.add_command(_command)
for _command in KEY_COMMANDS:
    keys.add_command(_command)
main.add_command(models)
cli_limits.register(main, _admin_command)   # cli/limits.py: alltoken limits set|show

if __name__ == "__main__":  # pragma: no cover
    main()
