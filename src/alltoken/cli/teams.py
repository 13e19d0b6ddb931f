"""`alltoken teams ...`: team accounts, their members, roles and spending limits (people: users.py)."""

import click

from alltoken.accounts.roles import ROLES
from alltoken.cli.common import admin_command

RESET_CHOICES = click.Choice(["daily", "weekly", "monthly", "never"])


@click.group()
def teams():
    """Team accounts: a shared balance, members with roles and their own spending limits."""


@teams.command("create")
@click.option("--name", required=True)
@click.option("--owner-email", required=True, help="An existing user, who becomes the team's owner.")
@click.option("--email", help="The team's contact email (default: the owner's, tagged +team-...).")
@admin_command
async def teams_create(session, name, owner_email, email):
    from alltoken.accounts.teams import create_team

    account, _ = await create_team(session, name, owner_email, email)
    view = await _team(session, account.id)
    return view, f"created team {account.id} ({account.name}) owned by {owner_email.strip().lower()}"


@teams.command("show")
@click.argument("team_id")
@admin_command(audited=False)
async def teams_show(session, team_id):
    view = await _team(session, team_id)
    lines = [f"{view['id']} {view['name']}: balance {view['balance_usd']} USD"]
    lines += [f"  {m['user_id']} {m['email']} {_summary(m)}" for m in view["members"]]
    return view, "\n".join(lines)


@teams.command("add-member")
@click.option("--team", "team_id", required=True)
@click.option("--email", required=True, help="An existing user's email.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--limit-usd", help="The member's own spending limit in the team, in USD.")
@click.option("--limit-reset", type=click.Choice(["daily", "weekly", "monthly"]),
              help="Start the limit afresh every UTC day, ISO week or month.")
@admin_command
async def teams_add_member(session, team_id, email, role, limit_usd, limit_reset):
    from alltoken.accounts.teams import add_member

    row, user = await add_member(session, team_id, email, role, limit_usd, limit_reset)
    return await _member(session, team_id, row, user, f"added {user.email} ({user.id}) to {team_id} as {role}")


@teams.command("set-limit")
@click.option("--team", "team_id", required=True)
@click.option("--email", required=True, help="The member's email.")
@click.option("--limit-usd", help="The new limit in USD.")
@click.option("--limit-reset", type=RESET_CHOICES, help="daily, weekly, monthly, or never.")
@click.option("--no-limit", is_flag=True, help="Remove the member's limit.")
@admin_command
async def teams_set_limit(session, team_id, email, limit_usd, limit_reset, no_limit):
    """Set a member's spending limit; running servers apply it within a second."""
    if no_limit == bool(limit_usd or limit_reset):
        raise click.UsageError("give --limit-usd and/or --limit-reset, or --no-limit")
    changes = {"limit_usd": None} if no_limit else {}
    if limit_usd:
        changes["limit_usd"] = limit_usd
    if limit_reset:
        changes["limit_reset"] = None if limit_reset == "never" else limit_reset
    return await _update(session, team_id, email, changes)


@teams.command("set-role")
@click.option("--team", "team_id", required=True)
@click.option("--email", required=True, help="The member's email.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@admin_command
async def teams_set_role(session, team_id, email, role):
    return await _update(session, team_id, email, {"role": role})


@teams.command("remove-member")
@click.option("--team", "team_id", required=True)
@click.option("--email", required=True, help="The member's email.")
@admin_command
async def teams_remove_member(session, team_id, email):
    """Remove a member and revoke their keys in the team."""
    from alltoken.accounts.teams import remove_member
    from alltoken.accounts.users import user_by_email

    user = await user_by_email(session, email)
    revoked = await remove_member(session, team_id, user.id)
    return ({"user_id": user.id, "revoked_keys": revoked},
            f"removed {user.email} from {team_id}; revoked {len(revoked)} key(s)")


async def _update(session, team_id: str, email: str, changes: dict):
    from alltoken.accounts.teams import update_member
    from alltoken.accounts.users import user_by_email

    user = await user_by_email(session, email)
    row = await update_member(session, team_id, user.id, changes)
    return await _member(session, team_id, row, user, f"updated {user.email} in {team_id}")


async def _member(session, team_id: str, row, user, human: str) -> tuple[dict, str]:
    await session.flush()
    view = (await _member_view(session, team_id, row, user)).model_dump(mode="json")
    return view, f"{human}: {_summary(view)}"


def _summary(member: dict) -> str:
    limit = f"limit {member['limit_usd']} USD ({member['limit_reset'] or 'never resets'})" \
        if member["limit_usd"] else "no limit"
    return f"{member['role']}, {limit}, spent {member['spent_usd']} USD since {member['spent_since']}"


async def _member_view(session, team_id: str, row, user):
    """Spend read from the usage records written so far (the CLI has no server's in-memory book)."""
    from alltoken.accounts.team_views import member_view
    from alltoken.accounts.teams import member_spent_since
    from alltoken.ids import utcnow
    from alltoken.periods import member_period_start

    now = utcnow()
    since = member_period_start(row.limit_reset, row.created_at, now)
    return member_view(row, user, await member_spent_since(session, team_id, user.id, since), since, now)


async def _team(session, team_id: str) -> dict:
    from alltoken.accounts.team_views import team_view
    from alltoken.accounts.teams import get_team, members
    from alltoken.billing.ledger import balance_units

    account = await get_team(session, team_id)
    views = [await _member_view(session, team_id, row, user) for row, user in await members(session, team_id)]
    return team_view(account, await balance_units(session, team_id), views).model_dump(mode="json")
