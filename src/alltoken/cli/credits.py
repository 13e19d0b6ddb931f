"""`alltoken credits ...`: grant credit, correct it (adjust, refund), give a credit line, read a balance."""

import click

from alltoken.cli.common import admin_command, parse_time


@click.group()
def credits():
    """Grant credits and read balances."""


@credits.command("grant")
@click.option("--account", "account_id", required=True)
@click.option("--usd", required=True, help="Amount in USD, e.g. 10 or 0.50.")
@click.option("--kind", type=click.Choice(["topup", "promo", "adjustment"]), default="topup", show_default=True)
@click.option("--expires", help="Expiry of promotional credit, ISO 8601.")
@click.option("--note")
@admin_command
async def credits_grant(session, account_id, usd, kind, expires, note):
    from alltoken.accounts.service import get_account
    from alltoken.audit import cli_actor
    from alltoken.billing.expiry import account_buckets
    from alltoken.billing.ledger import grant
    from alltoken.ids import utcnow
    from alltoken.money import units_to_usd_str

    await get_account(session, account_id)
    entry = await grant(session, account_id, usd, kind=kind, expires_at=parse_time(expires, "--expires"),
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
@admin_command
async def credits_adjust(session, account_id, usd, reason):
    """Correct a billing error: an `adjustment` entry recording the reason and you as its actor."""
    from alltoken.billing.corrections import adjust

    return await _correction(session, adjust, account_id, usd, reason)


@credits.command("refund")
@click.option("--account", "account_id", required=True)
@click.option("--usd", required=True, help="Paid credit being paid back to the customer outside AllToken.")
@click.option("--reason", required=True, help="Why; recorded with the entry and shown to the account.")
@admin_command
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
@admin_command
async def credits_line(session, account_id, usd):
    """Give an account a credit line: it may keep spending until its balance reaches -USD."""
    from alltoken.accounts.service import set_credit_line
    from alltoken.money import units_to_usd_str

    account = await set_credit_line(session, account_id, usd)
    line = units_to_usd_str(account.credit_line_units)
    return ({"account_id": account.id, "credit_line_usd": line}, f"credit line of {account.id}: {line} USD")


@credits.command("balance")
@click.option("--account", "account_id", required=True)
@admin_command(audited=False)
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
