"""`alltoken limits set|show`: an account's rate-limit tier and limits (also per model), a key's limits."""

import click

from alltoken.cli.common import admin_command, settings_of


@click.group()
def limits():
    """Rate limits: requests/minute, tokens/minute and concurrent requests."""


@limits.command("set")
@click.option("--account", "account_id", help="The account whose limits (or tier) to set.")
@click.option("--key", "key_id", help="The key whose own limits to set.")
@click.option("--rpm", type=click.IntRange(min=1), help="Requests per minute.")
@click.option("--tpm", type=click.IntRange(min=1), help="Tokens per minute (input and output).")
@click.option("--concurrency", type=click.IntRange(min=1), help="Requests at the same time.")
@click.option("--tier", help="The account's tier (rate_limits.tiers in the config file).")
@click.option("--model", help="Set the account's limits for this model (a public model id).")
@click.option("--clear", is_flag=True, help="Drop what was set before (only the model's, with --model).")
@admin_command
async def limits_set(session, account_id, key_id, rpm, tpm, concurrency, tier, model, clear):
    """Set an account's or key's limits; unset ones come from the tier. Running servers apply it within a second."""
    from alltoken.limits.overrides import changed, current, store

    kind, subject = _subject(account_id, key_id)
    if not clear and not any((rpm, tpm, concurrency, tier)):
        raise click.UsageError("give at least one of --rpm, --tpm, --concurrency, --tier, or --clear")
    if model and tier:
        raise click.UsageError("--tier is the account's as a whole; give it without --model")
    overrides = changed(await current(session, kind, subject), clear=clear, tier=tier, model=model,
                        rpm=rpm, tpm=tpm, concurrency=concurrency)
    shown = await store(session, _rate_settings(), kind, subject, overrides)
    return shown, describe(shown)


@limits.command("show")
@click.option("--account", "account_id")
@click.option("--key", "key_id")
@admin_command(audited=False)
async def limits_show(session, account_id, key_id):
    """What is set for an account or key, and the limits in force (tier and account state applied)."""
    from alltoken.limits.overrides import view

    shown = await view(session, _rate_settings(), *_subject(account_id, key_id))
    return shown, describe(shown)


def _subject(account_id: str | None, key_id: str | None) -> tuple[str, str]:
    if account_id and not key_id:
        return "account", account_id
    if key_id and not account_id:
        return "key", key_id
    raise click.UsageError("give exactly one of --account ID and --key KEY_ID")


def _rate_settings():
    """The config file's tiers: the one the command was given, as every admin command reads it."""
    return settings_of(click.get_current_context().find_root()).rate_limits


def describe(shown: dict) -> str:
    limits = shown["limits"]
    if "key_id" in shown:
        return f"limits of key {shown['key_id']}: {_line(limits)}"
    lines = [f"limits of account {shown['account_id']} (tier {shown['effective_tier'] or 'none'}): "
             f"{_line(limits['account'])}", f"  each key: {_line(limits['key'])}"]
    lines += [f"  model {model}: {_line(values)}" for model, values in limits["models"].items()]
    return "\n".join(lines)


def _line(limits: dict) -> str:
    shown = [f"{value} {name}" for name, value in limits.items() if value is not None]
    return ", ".join(shown) or "no limit"
