"""`alltoken moderation-log`: the image moderation log."""

import click
import orjson

from alltoken.cli.common import admin_command, parse_time


@click.command("moderation-log")
@click.option("--since", help="Only records from this time on, ISO 8601 with a timezone.")
@admin_command(audited=False)
async def moderation_log(session, since):
    """The image moderation log, oldest first: level selected (null: none), account, task id, time, model."""
    from alltoken.images.moderation_log import records

    found = await records(session, since=parse_time(since, "--since"))
    lines = [f"{r.timestamp.isoformat()}  {r.task_id}  {r.account_id}  {r.model}  moderation="
             + (orjson.dumps(r.moderation).decode() if r.moderation is not None else "(none set)") for r in found]
    return [r.as_dict() for r in found], "\n".join(lines) or "no records"
