"""What every command module shares: settings, output, the admin-command decorator, option parsing.

Light to import (the configuration is read only when a command runs): `alltoken --help` imports every
command module to list them.
"""

import functools
from datetime import datetime
from typing import TYPE_CHECKING, overload

import click
import orjson

if TYPE_CHECKING:
    from alltoken.config import Settings


def settings_of(ctx: click.Context) -> "Settings":
    from alltoken.config import ConfigError, load_settings

    try:
        return load_settings(ctx.obj.get("config"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def emit(ctx: click.Context, payload: dict, human: str) -> None:
    if ctx.obj.get("json"):
        click.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(human)


def admin_command(func=None, *, audited: bool = True, after_commit=None):
    """Run an async admin action (returning its JSON payload and a line for people) against the
    configured database in one transaction, with its audit-log entry unless it only reads; print
    only once it committed. `after_commit(engine)`, if given, runs once the transaction is in."""
    if func is None:
        return functools.partial(admin_command, audited=audited, after_commit=after_commit)

    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx, as_json, **kwargs):
        from alltoken.cli.runner import run_admin

        ctx.obj["json"] = as_json or ctx.obj.get("json")
        action = ".".join(ctx.command_path.split()[1:]) if audited else None
        payload, human = run_admin(func, settings_of(ctx), action, after_commit, **kwargs)
        emit(ctx, payload, human)

    return wrapper


def split_list(value: str | None) -> list[str] | None:
    return [item.strip() for item in value.split(",") if item.strip()] if value else None


@overload
def parse_time(value: str, flag: str) -> datetime: ...
@overload
def parse_time(value: str | None, flag: str) -> datetime | None: ...
def parse_time(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=flag) from None
    if parsed.tzinfo is None:
        raise click.BadParameter("give a timezone, e.g. 2027-01-31T00:00:00Z", param_hint=flag)
    return parsed


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
