"""`alltoken audit-log`: every administrative and security action, as the audit log keeps it."""

import click

from alltoken.cli.common import admin_command, parse_time


@click.command("audit-log")
@click.option("--since", help="Only entries from this time on, ISO 8601.")
@click.option("--target", help="Only entries about this target: an account or key id, or model:<id>.")
@admin_command(audited=False)
async def audit_log(session, since, target):
    """Every administrative and security action: who, what, when, from where."""
    from alltoken.audit import entries

    found = await entries(session, since=parse_time(since, "--since"), target=target, limit=None)
    lines = [f"{e['at']}  {e['actor']}  {e['action']}  {e['target'] or ''}" for e in found]
    return found, "\n".join(lines) or "no audit entries"
