"""Runs one admin CLI action: open the database, migrate, act in one transaction, report errors plainly."""

import asyncio

import click

from .accounts.service import Conflict, NotFound
from .billing.money import MoneyFormatError
from .config import Settings
from .store.db import DatabaseUrlError, create_engine, session_factory
from .store.migrate import upgrade_to_head


def run_admin(action, settings: Settings, **kwargs) -> tuple[dict, str]:
    try:
        return asyncio.run(_run(action, settings, kwargs))
    except (NotFound, Conflict, MoneyFormatError, DatabaseUrlError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


async def _run(action, settings: Settings, kwargs) -> tuple[dict, str]:
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
        async with session_factory(engine).begin() as session:
            return await action(session, **kwargs)
    finally:
        await engine.dispose()
