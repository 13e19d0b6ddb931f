"""`alltoken models restrict`: per-account model and provider restrictions."""

import click

from alltoken.cli.common import admin_command, split_list


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
@admin_command
async def models_restrict(session, account_id, deny, allow, deny_providers, allow_providers, clear):
    """Cut an account off models or providers (e.g. at a provider's demand); effective within a second."""
    from alltoken.audit import cli_actor
    from alltoken.governance.model_restrictions import clear as clear_restrictions
    from alltoken.governance.model_restrictions import restrict

    given = {"deny_models": split_list(deny), "allow_models": split_list(allow),
             "deny_providers": split_list(deny_providers), "allow_providers": split_list(allow_providers)}
    if clear == any(value is not None for value in given.values()):
        raise click.UsageError("give --clear, or any of --deny or --allow, --deny-providers or --allow-providers")
    lists = await (clear_restrictions(session, account_id) if clear
                   else restrict(session, account_id, given, cli_actor()))
    shown = "; ".join(f"{name.replace('_', ' ')}: {', '.join(ids)}" for name, ids in lists.items() if ids)
    return ({"account_id": account_id, **lists}, f"restrictions of {account_id}: {shown or 'none'}")
