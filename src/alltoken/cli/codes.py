"""`alltoken codes create`: redemption codes for promotional credit."""

import click

from alltoken.cli.common import admin_command, parse_time


@click.group()
def codes():
    """Redemption codes for promotional credit."""


@codes.command("create")
@click.option("--usd", required=True, help="Credit each use grants, e.g. 5.")
@click.option("--count", type=int, default=1, show_default=True, help="How many codes.")
@click.option("--uses", type=int, default=1, show_default=True, help="How many accounts may use each code.")
@click.option("--expires", help="When the codes stop working, ISO 8601.")
@admin_command
async def codes_create(session, usd, count, uses, expires):
    from alltoken.billing.codes import create_codes

    made = await create_codes(session, usd, count=count, uses=uses, expires_at=parse_time(expires, "--expires"))
    return ({"codes": made, "usd": usd, "uses": uses, "expires_at": expires},
            "\n".join(made) + f"\n\n{len(made)} code(s) worth {usd} USD each; shown only this once.")
