"""Runs one admin CLI action: open the database, migrate, act in one transaction. Our errors end the command
in cli/main.py; a service's ValueError (bad input: a malformed amount, a database URL) ends it here the same way."""

import asyncio

import click

from alltoken import audit
from alltoken.config import Settings
from alltoken.runtime.change_bus import announce
from alltoken.store.db import create_engine, session_factory
from alltoken.store.migrate import upgrade_to_head
from alltoken.store.redis_client import open_redis


def run_admin(action, settings: Settings, audit_action: str | None, after_commit=None, **kwargs) -> tuple[dict, str]:
    try:
        return asyncio.run(_run(action, settings, audit_action, after_commit, kwargs))
    except ValueError as exc:   # MoneyFormatError and DatabaseUrlError too
        raise click.ClickException(str(exc)) from None


async def _run(action, settings: Settings, audit_action: str | None, after_commit, kwargs) -> tuple[dict, str]:
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
        async with session_factory(engine).begin() as session:
            result = await action(session, **kwargs)
            if audit_action:
                await audit.record(session, audit.cli_actor(), audit_action, _target(kwargs, result[0]),
                                   _details(kwargs))
        if after_commit is not None:
            await after_commit(engine)
        if audit_action:
            await _tell_servers(settings)
        return result
    finally:
        await engine.dispose()


async def _tell_servers(settings: Settings) -> None:
    """Running servers read the change feed and the ledger at once instead of at their next poll
    (a command that changed something; a lost nudge only waits for that poll)."""
    if not settings.redis_url:
        return
    redis = open_redis(settings.redis_url)
    try:
        await announce(redis, settings.redis_prefix)
    except Exception as exc:
        click.echo(f"warning: could not tell running servers through Redis ({type(exc).__name__}); "
                   "they pick the change up at their next poll", err=True)
    finally:
        await redis.aclose()


# Options that name what a command acts on (ids say what they are: acct_..., key_..., usr_...).
_TARGETS = ("account_id", "key_id", "team_id", "user_id")
# Secrets never, and no personal data (the log outlives a deleted account): ids say who.
_PRIVATE_WORDS = ("password", "secret", "token", "email", "name")


def _target(kwargs: dict, payload) -> str | None:
    named = next((kwargs[option] for option in _TARGETS if kwargs.get(option)), None)
    made = payload.get("id") if isinstance(payload, dict) else None   # a create command: what it made
    return named or made


def _details(kwargs: dict) -> dict:
    """The command's options, minus anything private and anything unset."""
    return {name: value for name, value in kwargs.items()
            if value not in (None, False, ()) and not any(word in name for word in _PRIVATE_WORDS)}
