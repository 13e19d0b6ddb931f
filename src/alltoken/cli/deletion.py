"""`alltoken accounts delete`: erase an account at its owner's request (see docs/governance.md)."""

import click

from alltoken.cli.common import admin_command, iso


async def _flush_erased_data(engine) -> None:
    from alltoken.store.db import flush_erased_data

    await flush_erased_data(engine)


@click.command("delete")
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
