"""`alltoken terms ...`: publish terms-of-service versions and record an account's acceptance."""

import click

from alltoken.cli.common import admin_command, iso, parse_time


@click.group()
def terms():
    """Terms of service: versions and acceptance."""


@terms.command("publish")
@click.option("--version", "version", required=True, help="The version's name, e.g. 2026-07.")
@click.option("--effective", required=True, help="When it takes effect, ISO 8601 with a timezone.")
@click.option("--material", is_flag=True, help="Accounts must accept it again within the grace period.")
@click.option("--url", help="Where the text is published.")
@click.option("--summary", help="What changed, in a sentence.")
@admin_command
async def terms_publish(session, version, effective, material, url, summary):
    """Publish a version; it must take effect after every version published before it."""
    from alltoken.accounts.terms import publish

    row = await publish(session, version, parse_time(effective, "--effective"), material=material, url=url,
                        summary=summary)
    kind = "material change: accounts must accept it again" if material else "not material"
    return (_version(row), f"published terms {row.version}, in effect from {iso(row.effective_at)} ({kind})")


@terms.command("list")
@admin_command(audited=False)
async def terms_list(session):
    """Every published version, oldest first."""
    from alltoken.accounts.terms import versions

    rows = [_version(row) for row in await versions(session)]
    lines = [f"{r['version']}  from {r['effective_at']}{'  material' if r['material'] else ''}  {r['url'] or ''}"
             for r in rows]
    return rows, "\n".join(lines) or "no terms published"


@terms.command("accept")
@click.option("--account", "account_id", required=True)
@click.option("--image-uploads", is_flag=True,
              help="Also record the image-upload warranty (terms section 4.8) that image edits and variations need.")
@admin_command
async def terms_accept(session, account_id, image_uploads):
    """Record that the account accepts the version in effect now (and, with --image-uploads, gives the
    warranty for uploaded images; that works before any version is published too)."""
    from alltoken.accounts.terms import accept, give_upload_warranty

    row = await give_upload_warranty(session, account_id) if image_uploads else await accept(session, account_id)
    what = "the terms and the image-upload warranty" if image_uploads else "terms"
    return ({"account_id": account_id, "version": row.version, "image_uploads": row.image_uploads,
             "accepted_at": iso(row.accepted_at)}, f"{account_id} accepted {what}, version {row.version}")


def _version(row) -> dict:
    return {"id": f"terms:{row.version}", "version": row.version, "effective_at": iso(row.effective_at),
            "material": row.material, "url": row.url, "summary": row.summary, "published_at": iso(row.published_at)}
