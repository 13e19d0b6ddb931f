"""Public models and their routes: built once at start from the catalog and the config file."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from alltoken.catalog.models import CatalogEntry, catalog_price, load_catalog
from alltoken.catalog.schedule import in_effect, next_change, parse_schedule
from alltoken.config import ConfigError, ModelConfig, Settings
from alltoken.ids import utcnow
from alltoken.pricing import Price
from alltoken.providers.base import Provider


@dataclass(frozen=True, slots=True)
class Route:
    provider: Provider
    upstream_model: str
    price: Price
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class PublicModel:
    id: str
    name: str
    kind: str
    context_length: int | None
    max_output_tokens: int | None
    routes: tuple[Route, ...]
    strategy: str = "priority"     # priority | weighted | price | latency | throughput
    max_dimensions: int | None = None   # embeddings: the smallest limit the catalog knows among the routes

    @property
    def price(self) -> Price:
        """The price shown in /v1/models: the first route's, which is the one normally charged."""
        return self.routes[0].price


class ModelTable:
    def __init__(self, models: dict[str, PublicModel]):
        self._models = models

    def get(self, model_id: str) -> PublicModel | None:
        return self._models.get(model_id)

    def all(self) -> list[PublicModel]:
        return list(self._models.values())


def build_model_table(settings: Settings, providers: dict[str, Provider],
                      overrides: Sequence[ModelConfig] = (), now: datetime | None = None) -> ModelTable:
    """Catalog models for every configured provider of their family, then the config's own models,
    then routes set at run time through the management API (each replacing a model of the same id).
    A public id offered by several families (a Claude model natively and on Bedrock) gets one route
    per provider, in catalog file order."""
    types = {config.id: config.type for config in settings.providers}
    fee = settings.markup.for_route
    now = now or utcnow()
    models: dict[str, PublicModel] = {}
    for entry in load_catalog():
        routes = tuple(Route(providers[pid], entry.upstream_model, _catalog_price(entry, providers[pid], now)
                             .marked_up(fee(entry.id, pid)))
                       for pid, ptype in types.items() if ptype == entry.provider_type)
        if not routes:
            continue
        known = models.get(entry.id)
        if known:
            routes = known.routes + routes
        models[entry.id] = _from_catalog(entry, routes, _smallest(entry.max_dimensions,
                                                                   known.max_dimensions if known else None))
    for model in (*settings.models, *overrides):
        models[model.id] = _from_config(model, providers, types, fee, now)
    return ModelTable(models)


def _scheduled_price(model: ModelConfig, route, now: datetime) -> Price | None:
    """The route's own price in effect now (None if its schedule has not started yet)."""
    try:  # every scheduled price is checked up front, not when it starts
        priced = [(starts, Price.from_usd_strings(table)) for starts, table in parse_schedule(route.pricing)]
    except ValueError as exc:
        raise ConfigError(f"model {model.id}: route {route.provider}/{route.model}: {exc}") from exc
    return in_effect(priced, now)


def _catalog_price(entry: CatalogEntry, provider: Provider, now: datetime) -> Price:
    return entry.price_at(now, provider.config.region)


def next_price_change(settings: Settings, overrides: list[ModelConfig], now: datetime) -> datetime | None:
    """When the next scheduled price (config route or catalog entry) starts, so the model table can be
    rebuilt right then."""
    changes = [next_change(parse_schedule(route.pricing), now) for model in (*settings.models, *overrides)
               for route in model.routes if route.pricing is not None]
    families = {config.type for config in settings.providers}
    changes += [entry.next_price_change(now) for entry in load_catalog() if entry.provider_type in families]
    return min((c for c in changes if c is not None), default=None)


def _from_catalog(entry: CatalogEntry, routes: tuple[Route, ...], max_dimensions: int | None) -> PublicModel:
    return PublicModel(entry.id, entry.name, entry.kind, entry.context_length, entry.max_output_tokens, routes,
                       max_dimensions=max_dimensions)


def _smallest(*limits: int | None) -> int | None:
    return min((limit for limit in limits if limit is not None), default=None)


def _from_config(model: ModelConfig, providers: dict[str, Provider], types: dict[str, str], fee,
                 now: datetime) -> PublicModel:
    routes, first_entry, dimension_limits = [], None, []
    for route in model.routes:
        if route.provider not in types:
            raise ConfigError(f"model {model.id}: route names unknown provider {route.provider!r}")
        entry = catalog_price(types[route.provider], route.model)
        first_entry = first_entry or entry
        dimension_limits.append(entry.max_dimensions if entry else None)
        scheduled = _scheduled_price(model, route, now) if route.pricing is not None else None
        if scheduled is not None:
            price = scheduled
        elif entry is not None:
            price = _catalog_price(entry, providers[route.provider], now)
        else:
            raise ConfigError(f"model {model.id}: no price known for {route.model!r} on provider {route.provider}; "
                              "add pricing: {prompt: ..., completion: ...} (USD per token) to the route")
        routes.append(Route(providers[route.provider], route.model, price.marked_up(fee(model.id, route.provider)),
                            route.weight))
    return PublicModel(
        id=model.id,
        name=model.name or (first_entry.name if first_entry else model.id),
        kind=model.kind or (first_entry.kind if first_entry else "chat"),
        context_length=model.context_length or (first_entry.context_length if first_entry else None),
        max_output_tokens=model.max_output_tokens or (first_entry.max_output_tokens if first_entry else None),
        routes=tuple(routes),
        strategy=model.strategy,
        max_dimensions=_smallest(*dimension_limits),
    )
