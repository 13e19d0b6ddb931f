"""Routes set at run time: stored in `model_routes`, validated exactly like the config file,
applied to this process at once and to every other process through the change feed."""

import asyncio
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alltoken import audit
from alltoken.config import ModelConfig, Settings, parse_model
from alltoken.ids import utcnow
from alltoken.providers.base import Provider
from alltoken.routing.models import ModelTable, build_model_table, next_price_change
from alltoken.store.changes import record_change
from alltoken.store.dml import changed_rows
from alltoken.store.models import ModelRoutes


class ModelHost(Protocol):
    """What holds the model table (the running gateway, runtime/gateway.py)."""
    settings: Settings
    providers: dict[str, Provider]
    sessions: async_sessionmaker[AsyncSession]
    models: ModelTable


async def load_overrides(session: AsyncSession) -> list[ModelConfig]:
    rows = (await session.execute(select(ModelRoutes.definition).order_by(ModelRoutes.model_id))).scalars()
    return [parse_model(definition) for definition in rows]


def rebuild(state: ModelHost, overrides: list[ModelConfig]) -> None:
    """Swap in a new model table: requests already admitted keep the routes they were given."""
    state.models = build_model_table(state.settings, state.providers, overrides)


async def refresh(state: ModelHost) -> None:
    async with state.sessions() as session:
        rebuild(state, await load_overrides(session))


async def set_routes(state: ModelHost, model_id: str, definition: dict, actor: str, address: str | None = None) -> None:
    """Validate (config.ConfigError on anything the config file would refuse), store, apply."""
    definition = {**definition, "id": model_id}
    model = parse_model(definition)
    async with state.sessions.begin() as session:
        overrides = [o for o in await load_overrides(session) if o.id != model_id] + [model]
        build_model_table(state.settings, state.providers, overrides)  # raises before anything is stored
        await session.merge(ModelRoutes(model_id=model_id, definition=definition, updated_by=actor,
                                        updated_at=utcnow()))
        await record_change(session, "routes", model_id)
        await audit.record(session, actor, "routes.set", f"model:{model_id}", address=address, details={
            "strategy": model.strategy, "routes": [f"{r.provider}/{r.model}" for r in model.routes]})
    rebuild(state, overrides)


async def clear_routes(state: ModelHost, model_id: str, actor: str, address: str | None = None) -> bool:
    async with state.sessions.begin() as session:
        if not await changed_rows(session, delete(ModelRoutes).where(ModelRoutes.model_id == model_id)):
            return False
        await record_change(session, "routes", model_id)
        await audit.record(session, actor, "routes.clear", f"model:{model_id}", address=address)
        overrides = await load_overrides(session)
    rebuild(state, overrides)
    return True



async def price_schedule_loop(state: ModelHost) -> None:
    """Rebuild the model table when a scheduled price starts (checked at least hourly)."""
    while True:
        async with state.sessions() as session:
            pending = await load_overrides(session)
        now = utcnow()
        change = next_price_change(state.settings, pending, now)
        wait = 3600.0 if change is None else min(max((change - now).total_seconds(), 0.0), 3600.0)
        await asyncio.sleep(wait)
        if change is not None and utcnow() >= change:
            await refresh(state)
