"""`alltoken users create`: people, who hold a personal account and may join teams."""

import sys

import click

from alltoken.cli.common import admin_command


@click.group()
def users():
    """Create users: people who hold a personal account and may join teams."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", help="Name of the user's personal account.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input "
                                                     "(else one is generated and shown once).")
@admin_command
async def users_create(session, email, name, password_stdin):
    from alltoken.accounts.users import check_password, create_user

    password = check_password(sys.stdin.readline().rstrip("\r\n")) if password_stdin else None
    new = await create_user(session, email, password, name=name)
    user = new.user
    shown = f"\n\n    password: {new.password}\n\nStore it now: it is shown only this once." if new.password else ""
    return ({"id": user.id, "email": user.email, "account_id": user.account_id, "password": new.password},
            f"created user {user.id} ({user.email}) with personal account {user.account_id}{shown}")
