"""The `alltoken` command: `serve`, and admin commands that act on the configured database."""

import functools
import sys
from datetime import datetime

import click
import orjson

from . import cli_limits
from .config import ConfigError, Settings, load_settings


def _settings(ctx: click.Context) -> Settings:
    try:
        return load_settings(ctx.obj.get("config"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _emit(ctx: click.Context, payload: dict, human: str) -> None:
    if ctx.obj.get("json"):
        click.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(human)


def _admin_command(func=None, *, audited: bool = True):
    """Run an async admin action (returning its JSON payload and a line for people) against the
    configured database in one transaction, with its audit-log entry unless it only reads; print
    only once it committed."""
    if func is None:
        return functools.partial(_admin_command, audited=audited)

    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx, as_json, **kwargs):
        from .cli_admin import run_admin

        ctx.obj["json"] = as_json or ctx.obj.get("json")
        action = ".".join(ctx.command_path.split()[1:]) if audited else None
        payload, human = run_admin(func, _settings(ctx), action, **kwargs)
        _emit(ctx, payload, human)

    return wrapper


@click.group()
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Config file (default ./alltoken.yaml).")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_context
def main(ctx, config, as_json):
    """AllToken: one API for many LLM providers, with keys, credits and usage."""
    ctx.ensure_object(dict)
    ctx.obj.update(config=config, json=as_json)


@main.command()
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Config file (default ./alltoken.yaml).")
@click.option("--host", help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8080).")
@click.option("--workers", type=int, help="Processes (needs Redis when more than 1).")
@click.pass_context
def serve(ctx, config, host, port, workers):
    """Run the gateway."""
    from .server import run_server

    try:
        settings = load_settings(config or ctx.obj.get("config"), {"host": host, "port": port, "workers": workers})
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    sys.exit(run_server(settings))


@main.group()
def accounts():
    """Create and manage accounts."""


@accounts.command("create")
@click.option("--email", required=True)
@click.option("--name")
@_admin_command
async def accounts_create(session, email, name):
    from .accounts.service import create_account

    account = await create_account(session, email, name)
    return ({"id": account.id, "email": account.email, "name": account.name, "status": account.status},
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
    from .accounts.service import set_routing_policy

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
@_admin_command
async def keys_create(session, account_id, name, limit_usd, limit_reset, models, expires):
    from .accounts.service import create_key
    from .billing.money import units_to_usd_str

    new = await create_key(session, account_id, name=name, limit_usd=limit_usd, models=_split(models),
                           expires_at=_parse_time(expires, "--expires"), limit_reset=limit_reset)
    row = new.row
    return ({"id": row.id, "key": new.secret, "account_id": row.account_id, "name": row.name,
          "limit_usd": units_to_usd_str(row.limit_units) if row.limit_units is not None else None,
          "limit_reset": row.limit_reset,
          "models": row.models, "expires_at": _iso(row.expires_at)},
         f"created key {row.id} for account {row.account_id}\n\n    {new.secret}\n\n"
         "Store it now: it is shown only this once.")


@keys.command("revoke")
@click.argument("key_id")
@_admin_command
async def keys_revoke(session, key_id):
    from .accounts.service import revoke_key

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
    from .accounts.service import get_account
    from .billing.ledger import balance_units, grant
    from .billing.money import units_to_usd_str
    from .governance.audit import cli_actor

    await get_account(session, account_id)
    entry = await grant(session, account_id, usd, kind=kind, expires_at=_parse_time(expires, "--expires"),
                        note=note, actor=cli_actor())
    await session.flush()
    balance = units_to_usd_str(await balance_units(session, account_id))
    return ({"entry_id": entry.id, "account_id": account_id, "kind": kind,
          "amount_usd": units_to_usd_str(entry.amount_units), "balance_usd": balance},
         f"granted {units_to_usd_str(entry.amount_units)} USD ({kind}) to {account_id}; balance {balance} USD")


@credits.command("line")
@click.option("--account", "account_id", required=True)
@click.option("--usd", required=True, help="How far below zero the account may spend (postpaid); 0 ends it.")
@_admin_command
async def credits_line(session, account_id, usd):
    """Give an account a credit line: it may keep spending until its balance reaches -USD."""
    from .accounts.service import set_credit_line
    from .billing.money import units_to_usd_str

    account = await set_credit_line(session, account_id, usd)
    line = units_to_usd_str(account.credit_line_units)
    return ({"account_id": account.id, "credit_line_usd": line}, f"credit line of {account.id}: {line} USD")


@credits.command("balance")
@click.option("--account", "account_id", required=True)
@_admin_command(audited=False)
async def credits_balance(session, account_id):
    from .accounts.service import get_account
    from .billing.expiry import account_buckets
    from .billing.ledger import balance_units
    from .billing.money import units_to_usd_str

    await get_account(session, account_id)
    balance = units_to_usd_str(await balance_units(session, account_id))
    buckets = await account_buckets(session, account_id)
    paid, promo = units_to_usd_str(buckets.paid), units_to_usd_str(buckets.promo_total)
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
    from .billing.codes import create_codes

    made = await create_codes(session, usd, count=count, uses=uses, expires_at=_parse_time(expires, "--expires"))
    return ({"codes": made, "usd": usd, "uses": uses, "expires_at": expires},
            "\n".join(made) + f"\n\n{len(made)} code(s) worth {usd} USD each; shown only this once.")


@main.command("audit-log")
@click.option("--since", help="Only entries from this time on, ISO 8601.")
@click.option("--target", help="Only entries about this target: an account or key id, or model:<id>.")
@_admin_command(audited=False)
async def audit_log(session, since, target):
    """Every administrative and security action: who, what, when, from where."""
    from .governance.audit import entries

    found = await entries(session, since=_parse_time(since, "--since"), target=target, limit=None)
    lines = [f"{e['at']}  {e['actor']}  {e['action']}  {e['target'] or ''}" for e in found]
    return found, "\n".join(lines) or "no audit entries"


cli_limits.register(main, _admin_command)


def _split(value: str | None) -> list[str] | None:
    return [item.strip() for item in value.split(",") if item.strip()] if value else None


def _parse_time(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=flag) from None
    if parsed.tzinfo is None:
        raise click.BadParameter("give a timezone, e.g. 2027-01-31T00:00:00Z", param_hint=flag)
    return parsed


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


if __name__ == "__main__":  # pragma: no cover
    main()
