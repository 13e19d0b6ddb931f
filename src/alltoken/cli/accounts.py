"""`alltoken accounts ...`: create accounts, set their routing policy, enforcement states (warn, suspend,
terminate, ...) and their history, and deletion at the owner's request (see docs/governance.md)."""

import click

from alltoken.cli.common import admin_command, iso, settings_of, split_list


@click.group()
def accounts():
    """Create and manage accounts."""


def _country_allowed(ctx, _param, country: str | None) -> str | None:
    """A sign-up from a country `regions:` blocks is refused, as the API refuses its requests."""
    if country is None:
        return None
    from alltoken.http.region_gate import RegionPolicy

    refused = RegionPolicy(settings_of(ctx).regions).refusal(country.strip().upper())
    if refused is not None:
        raise click.ClickException(f"{refused.code}: {refused.message}")
    return country.strip().upper()


@accounts.command("create")
@click.option("--email", required=True)
@click.option("--name")
@click.option("--accept-terms", is_flag=True, help="The owner accepts the terms of service in effect.")
@click.option("--country", callback=_country_allowed,
              help="The owner's country (ISO 3166-1 alpha-2): refused when `regions:` blocks it.")
@admin_command
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
@admin_command
async def accounts_routing(session, account_id, allow_providers, deny_providers, allow_regions, deny_regions, clear):
    """Set which providers and regions may serve an account; it wins over request preferences."""
    from alltoken.accounts.service import set_routing_policy

    if not clear and not any((allow_providers, deny_providers, allow_regions, deny_regions)):
        raise click.UsageError("give at least one of --allow-providers, --deny-providers, --allow-regions, "
                               "--deny-regions, or --clear")
    policy = None if clear else {name: split_list(value) for name, value in (
        ("allow_providers", allow_providers), ("deny_providers", deny_providers),
        ("allow_regions", allow_regions), ("deny_regions", deny_regions)) if value}
    account = await set_routing_policy(session, account_id, policy or None)
    shown = "; ".join(f"{k.replace('_', ' ')}: {', '.join(v)}" for k, v in (account.routing_policy or {}).items())
    return ({"id": account.id, "routing_policy": account.routing_policy},
            f"routing policy of {account.id}: {shown or 'none (every provider and region)'}")


async def _flush_erased_data(engine) -> None:
    from alltoken.store.db import flush_erased_data

    await flush_erased_data(engine)


@accounts.command("delete")
@click.argument("account_id")
@click.option("--reason", required=True, help="Why, for the audit log (e.g. the owner's request and its date).")
@admin_command(after_commit=_flush_erased_data)
async def accounts_delete(session, account_id, reason):
    """Delete an account: keys revoked everywhere at once, personal data erased, usage anonymized; its
    ledger is kept for the retention period, then purged."""
    from alltoken.governance.deletion import delete_account

    deletion = await delete_account(session, account_id, reason=reason)
    return ({"id": account_id, "deleted_at": iso(deletion.deleted_at), "keys_revoked": len(deletion.key_ids)},
            f"deleted account {account_id}: {len(deletion.key_ids)} key(s) revoked, personal data erased; "
            "its ledger stays for the retention period")


# alltoken accounts warn|rate-limit|suspend|unsuspend|activate|terminate ID --reason TEXT
def _enforcement_command(name: str, state: str, summary: str, expect: str | None = None) -> click.Command:
    @click.command(name, help=summary)
    @click.argument("account_id")
    @click.option("--reason", required=True, help="Why: the account is told it, and it is kept in the history.")
    @admin_command
    async def command(session, account_id, reason):
        from alltoken.audit import cli_actor
        from alltoken.governance.enforcement import describe_action, set_state

        action = await set_state(session, account_id, state, reason, cli_actor(), expect=expect)
        return ({"account_id": account_id, **describe_action(action)},
                f"account {account_id}: {action.previous_state} -> {action.state} ({action.reason})")

    return command


@accounts.command("enforcement")
@click.argument("account_id")
@admin_command(audited=False)
async def accounts_enforcement(session, account_id):
    """Every change of the account's enforcement state: when, to what, why and by whom."""
    from alltoken.governance.enforcement import describe_action, history

    found = [describe_action(action) for action in await history(session, account_id)]
    lines = [f"{a['at']}  {a['previous_state']} -> {a['state']}  {a['actor']}  {a['reason']}" for a in found]
    return found, "\n".join(lines) or f"account {account_id} has had no enforcement actions"


for _command in (
    _enforcement_command("warn", "warned", "Warn an account: it is still served, and told why."),
    _enforcement_command("rate-limit", "rate_limited", "Put an account on reduced rate limits."),
    _enforcement_command("suspend", "suspended", "Suspend an account: its requests get 403 until unsuspended."),
    _enforcement_command("unsuspend", "active", "Lift a suspension.", expect="suspended"),
    _enforcement_command("activate", "active", "Return a warned, rate-limited or suspended account to active."),
    _enforcement_command("terminate", "terminated", "Terminate an account for good: its keys are revoked."),
):
    accounts.add_command(_command)
