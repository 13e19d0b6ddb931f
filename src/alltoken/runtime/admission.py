"""Admission: which model and route, and a credit hold for the worst case, before any upstream call.
What it grants is built once (an `Admission`) and registered, with its exchange, for settlement."""

from collections.abc import Callable
from datetime import datetime

from alltoken.accounts.cache import AccountRecord, KeyRecord
from alltoken.accounts.roles import SPENDERS
from alltoken.billing.reservations import Hold, InsufficientCredits, LimitReached
from alltoken.errors import InvalidRequest, NotFound, PaymentRequired, PermissionDenied
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_str
from alltoken.periods import next_reset
from alltoken.pricing import affordable_output_tokens, worst_case_units
from alltoken.routing.models import PublicModel, Route
from alltoken.routing.preferences import parse_preferences, split_variant
from alltoken.routing.router import Candidate, plan
from alltoken.runtime.budgets import request_budgets
from alltoken.runtime.estimate import output_token_bound, prompt_token_bound
from alltoken.runtime.exchange import Admission, Attempt, Body, Caller, Exchange
from alltoken.runtime.gateway import Gateway

_SERVES = {"chat": "chat completions or messages", "embedding": "embeddings",
           "image": "image generations, edits or variations"}
_ARTICLE = {"chat": "a chat", "embedding": "an embedding", "image": "an image"}


def resolve_model(gateway: Gateway, model_id: str, caller: Caller, kind: str = "chat") -> PublicModel:
    model = gateway.models.get(model_id)
    if model is None:
        raise NotFound(f"model '{model_id}' does not exist or is not enabled here; GET /v1/models lists them",
                       param="model", code="model_not_found")
    if model.kind != kind:
        raise InvalidRequest(f"model '{model_id}' is {_ARTICLE.get(model.kind, model.kind)} model; "
                             f"it cannot serve {_SERVES[kind]}",
                             param="model", code="wrong_model_kind")
    refusal = model_refusal(model, caller)
    if refusal is not None:
        raise PermissionDenied(refusal, code="model_not_allowed")
    return model


def model_refusal(model: PublicModel, caller: Caller) -> str | None:
    return refusal_for(model, caller.account, caller.key.models)


def refusal_for(model: PublicModel, account: AccountRecord, key_models: frozenset[str] | None = None) -> str | None:
    """Why the model may not be used: the key's model list, or the account's restrictions."""
    if key_models is not None and model.id not in key_models:
        return f"this API key may not use model '{model.id}'"
    if account.restrictions is not None:
        return account.restrictions.refusal(model.id, [route.provider.id for route in model.routes])
    return None


def usable_routes(model: PublicModel, caller: Caller) -> list[Route]:
    return routes_for(model, caller.account, caller.key.models)


def routes_for(model: PublicModel, account: AccountRecord, key_models: frozenset[str] | None = None) -> list[Route]:
    """The routes of a model the account (and key) may use (none when the model itself is refused), in order."""
    return [] if refusal_for(model, account, key_models) is not None else _policy_routes(model, account)


def _policy_routes(model: PublicModel, account: AccountRecord) -> list[Route]:
    """The model's routes the account's routing policy (restricted providers included) lets through."""
    policy = account.routing_policy
    return [r for r in model.routes if policy is None or not policy.refuses(r.provider.id, r.provider.config.region)]


async def admit(gateway: Gateway, exchange: Exchange, body: Body) -> None:
    """A chat completion: candidates from the model, its fallbacks and the routing preferences;
    a hold for the dearest candidate's worst case (each model has its own bounds)."""
    caller = exchange.caller
    model_id, variant_sort = split_variant(body["model"])
    prefs = parse_preferences(body, variant_sort)
    models = [resolve_model(gateway, name, caller) for name in (model_id, *prefs.fallback_models)]
    candidates, skipped = plan(models, prefs, gateway.health, policy=caller.account.routing_policy)
    if not candidates and any(s.reason == "account_policy" for s in skipped):
        admissible_routes(models[0], caller)  # raises the account-policy 403
    if not candidates:
        raise NotFound(f"no route for model '{model_id}' matches the routing preferences "
                       f"({', '.join(sorted({s.reason for s in skipped}))})", param="provider", code="no_route")
    prompt_bound = prompt_token_bound(body)
    bounds = {m.id: _chat_bounds(body, m, prompt_bound) for m in models}
    worst = max(candidates, key=lambda c: worst_case_units(c.route.price, *bounds[c.model.id]))
    prompt_bound, output_bound = bounds[worst.model.id]
    units = worst_case_units(worst.route.price, prompt_bound, output_bound)
    hold = await _hold(gateway, exchange, body, models[0], units, worst.route, prompt_bound, output_bound)
    _grant(gateway, exchange, Admission(candidates[0].model, candidates[0].route, hold, prompt_bound,
                                        tuple(candidates), tuple(Attempt(s.route, "skipped", reason=s.reason)
                                                                 for s in skipped)))


def _chat_bounds(body: Body, model: PublicModel, prompt_bound: int) -> tuple[int, int]:
    if model.context_length:
        prompt_bound = min(prompt_bound, model.context_length)
    return prompt_bound, output_token_bound(body, model.max_output_tokens, model.context_length)


def admissible_routes(model: PublicModel, caller: Caller) -> list[Route]:
    """The model's routes the account's routing policy allows, in order; 403 if none."""
    routes = _policy_routes(model, caller.account)
    if not routes:
        raise PermissionDenied(f"this account's routing policy allows no provider of model '{model.id}'",
                               code="provider_not_allowed")
    return routes


async def admit_bounded(gateway: Gateway, exchange: Exchange, body: Body, model: PublicModel,
                        prompt_bound: int, output_bound: int, routes: list[Route] | None = None, images: int = 0,
                        image_size: str | None = None, serves: Callable[[Route], bool] | None = None,
                        name_first: bool = False) -> None:
    """Rate limits, then a hold for one model's worst case on the dearest of `routes` (by default every
    admissible route), `images` generated images of `image_size` included. The candidates are the
    routes that `serves` (all by default); the route named before any attempt is the dearest, or with
    `name_first` the first candidate's."""
    routes = routes or admissible_routes(model, exchange.caller)

    def worst(r: Route) -> int:
        return worst_case_units(r.price, prompt_bound, output_bound, images, image_size)

    route = max(routes, key=worst)
    hold = await _hold(gateway, exchange, body, model, worst(route), route, prompt_bound, output_bound, images)
    candidates = tuple(Candidate(model, r) for r in routes if serves is None or serves(r))
    named = candidates[0].route if name_first else route
    _grant(gateway, exchange, Admission(model, named, hold, prompt_bound, candidates))


def _grant(gateway: Gateway, exchange: Exchange, admission: Admission) -> None:
    exchange.admitted(admission)
    gateway.admissions.add(exchange)   # settled or released when the request ends, whatever happens


async def _hold(gateway: Gateway, exchange: Exchange, body: Body, requested: PublicModel, units: int,
                route: Route, prompt_bound: int, output_bound: int, images: int = 0) -> Hold:
    """Count the request against the rate limits of the `requested` model, then hold `units` of credit."""
    caller = exchange.caller
    await gateway.rate_limits.admit(exchange.request_id, caller, requested.id, prompt_bound + output_bound)
    key = caller.key
    if key.member is not None and key.member.role not in SPENDERS:
        raise PermissionDenied(f"a team member with the role {key.member.role} may not call models; a team owner or "
                               "admin can change the role", code="member_role_cannot_spend")
    now = utcnow()
    budgets = await request_budgets(gateway, key, now)
    try:
        return await gateway.book.reserve(exchange.request_id, caller.account.id, units, budgets,
                                          credit_line_units=caller.account.credit_line_units)
    except InsufficientCredits as exc:
        raise PaymentRequired(_credit_message(exc.available_units, units, route, prompt_bound, output_bound,
                                              body, images)) from None
    except LimitReached as exc:
        raise PaymentRequired(_limit_message(exc, key, now), code=f"{exc.budget.scope[0]}_limit_reached") from None


def _limit_message(exc: LimitReached, key: KeyRecord, now: datetime) -> str:
    """Which limit, what is left of it, what the request needs, and when the limit resets."""
    if exc.budget.scope[0] == "member" and key.member is not None:
        whose, reset = "this team member's", key.member.limit_reset
        never = "; it does not reset (a team owner or admin can raise it)"
    else:
        whose, reset, never = "this key's", key.limit_reset, ""
    which = f"{reset} " if reset else ""
    resets = f"; it resets at {next_reset(reset, now).isoformat()}" if reset else never
    return (f"{whose} {which}spending limit is reached: {units_to_usd_str(max(exc.remaining_units, 0))} USD "
            f"left of {units_to_usd_str(exc.budget.limit_units or 0)} USD, and this request may cost up to "
            f"{units_to_usd_str(exc.needed_units)} USD{resets}")


def _credit_message(available: int, units: int, route: Route, prompt_bound: int, output_bound: int, body: Body,
                    images: int = 0) -> str:
    made = f", {images} image(s)" if images else ""
    message = (f"insufficient credits: this request may cost up to {units_to_usd_str(units)} USD "
               f"({prompt_bound} input and {output_bound} output tokens at most{made}), "
               f"and the account has {units_to_usd_str(max(available, 0))} USD available")
    if images:
        return message + "; ask for fewer images (n), a smaller size or a lower quality, or add credits"
    affordable = affordable_output_tokens(route.price, available, prompt_bound, body.get("n") or 1)
    if affordable > 0:
        field = "max_completion_tokens" if body.get("max_completion_tokens") else "max_tokens"
        return message + f"; set {field} to {affordable} or less, or add credits"
    return message + "; add credits"
