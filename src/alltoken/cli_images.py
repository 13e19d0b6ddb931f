"""Admin commands for images: terms acceptance (the image-upload warranty, §4.8) and the moderation log."""

import click
import orjson

from .cli_support import admin_command as _admin_command
from .cli_support import iso as _iso
from .cli_support import parse_time as _parse_time
from .cli_support import settings_of as _settings


@click.group()
def terms():
    """Record an account's acceptance of the terms of service."""


@terms.command("accept")
@click.option("--account", "account_id", required=True)
@click.option("--image-uploads", is_flag=True,
              help="Also record the image-upload warranty (terms section 4.8) that image edits and variations need.")
@_admin_command
async def terms_accept(session, account_id, image_uploads):
    """Record that the account accepted the terms version in force (config `terms.version`)."""
    from .accounts.terms import accept_terms

    version = _settings(click.get_current_context()).terms.version
    row = await accept_terms(session, account_id, version, image_uploads=image_uploads)
    what = "the terms and the image-upload warranty" if image_uploads else "the terms"
    return ({"account_id": row.account_id, "version": row.version, "image_uploads": row.image_uploads,
             "accepted_at": _iso(row.accepted_at)},
            f"{row.account_id} accepted {what}, version {row.version}, at {_iso(row.accepted_at)}")


@click.command("moderation-log")
@click.option("--since", help="Only records from this time on, ISO 8601 with a timezone.")
@_admin_command(audited=False)
async def moderation_log(session, since):
    """The image moderation log, oldest first: level selected (null: none), account, task id, time, model."""
    from .images.moderation_log import records

    found = await records(session, since=_parse_time(since, "--since"))
    lines = [f"{r.timestamp.isoformat()}  {r.task_id}  {r.account_id}  {r.model}  moderation="
             + (orjson.dumps(r.moderation).decode() if r.moderation is not None else "(none set)") for r in found]
    return [r.as_dict() for r in found], "\n".join(lines) or "no records"
