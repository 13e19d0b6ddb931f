"""Admission: which model and route, and a credit hold for the worst case, before any upstream call."""

from dataclasses import dataclass, field

from alltoken.accounts.cache import AccountRecord, KeyRecord
from alltoken.accounts.roles import SPENDERS
from alltoken.billing.reservations import Hold, InsufficientCredits, LimitReached
from alltoken.errors import InvalidRequest, NotFound, PaymentRequired, PermissionDenied
from alltoken.http.auth import Caller
from alltoken.ids import utcnow
from alltoken.money import units_to_usd_str
from alltoken.periods import next_reset
from alltoken.pricing import affordable_output_tokens, worst_case_units
from alltoken.routing.models import PublicModel, Route
from alltoken.routing.preferences import parse_preferences, split_variant
from alltoken.routing.router import Candidate, plan
from alltoken.runtime.attempts import Attempt
from alltoken.runtime.budgets import request_budgets
from alltoken.runtime.estimate import output_token_bound, prompt_token_bound


@dataclass(slots=True)
class Admission:
    model: PublicModel          # the model and route being tried, then the ones that served
    route: Route
    hold: Hold
    prompt_bound: int
    candidates: list[Candidate] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)


_SERVES = {"chat": "chat completions or messages", "embedding": "embeddings",
           "image": "image generations, edits or variations"}
_ARTICLE = {"chat": "a chat", "embedding": "an embedding", "image": "an image"}


def resolve_model(state, model_id: str, caller: Caller, kind: str = "chat") -> PublicModel:
    model = state.models.get(model_id)
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


async def admit(state, request_id: str, body: dict, caller: Caller) -> Admission:
    """A chat completion: candidates from the model, its fallbacks and the routing preferences;
    a hold for the dearest candidate's worst case (each model has its own bounds)."""
    model_id, variant_sort = split_variant(body["model"])
    prefs = parse_preferences(body, variant_sort)
    models = [resolve_model(state, name, caller) for name in (model_id, *prefs.fallback_models)]
    candidates, skipped = plan(models, prefs, state.health, policy=caller.account.routing_policy)
    if not candidates and any(s.reason == "account_policy" for s in skipped):
        admissible_routes(models[0], caller)  # raises the account-policy 403
    if not candidates:
        raise NotFound(f"no route for model '{model_id}' matches the routing preferences "
                       f"({', '.join(sorted({s.reason for s in skipped}))})", param="provider", code="no_route")
    prompt_bound = prompt_token_bound(body)
    bounds = {m.id: _chat_bounds(body, m, prompt_bound) for m in models}
    worst = max(candidates, key=lambda c: worst_case_units(c.route.price, *bounds[c.model.id]))
    admission = await admit_bounded(state, request_id, body, caller, worst.model, *bounds[worst.model.id],
                                    route=worst.route, requested=models[0])
    admission.model, admission.route = candidates[0].model, candidates[0].route
    admission.candidates = candidates
    admission.attempts = [Attempt(s.route, "skipped", reason=s.reason) for s in skipped]
    return admission


def _chat_bounds(body: dict, model: PublicModel, prompt_bound: int) -> tuple[int, int]:
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


async def admit_bounded(state, request_id: str, body: dict, caller: Caller, model: PublicModel,
                        prompt_bound: int, output_bound: int, route: Route | None = None,
                        routes: list[Route] | None = None, images: int = 0, image_size: str | None = None,
                        requested: PublicModel | None = None) -> Admission:
    """Rate limits (of the `requested` model, `model` unless given), then a hold for one model's worst
    case on `route` (unless given, the dearest of `routes`, by default every admissible route), `images`
    generated images of `image_size` included."""
    routes = routes or admissible_routes(model, caller)

    def worst(r: Route) -> int:
        return worst_case_units(r.price, prompt_bound, output_bound, images, image_size)

    route = route or max(routes, key=worst)
    await state.rate_limits.admit(request_id, caller, (requested or model).id, prompt_bound + output_bound)
    hold = await _reserve(state, request_id, caller, worst(route), route, prompt_bound, output_bound, body, images)
    admission = Admission(model, route, hold, prompt_bound, candidates=[Candidate(model, r) for r in routes])
    state.admissions.add(request_id, caller, admission)   # settled or released when the request ends, whatever happens
    return admission


async def _reserve(state, request_id, caller, units, route, prompt_bound, output_bound, body, images=0) -> Hold:
    key = caller.key
    if key.member is not None and key.member.role not in SPENDERS:
        raise PermissionDenied(f"a team member with the role {key.member.role} may not call models; a team owner or "
                               "admin can change the role", code="member_role_cannot_spend")
    now = utcnow()
    budgets = await request_budgets(state, key, now)
    try:
        return await state.book.reserve(request_id, caller.account.id, units, budgets,
                                        credit_line_units=caller.account.credit_line_units)
    except InsufficientCredits as exc:
        raise PaymentRequired(_credit_message(exc.available_units, units, route, prompt_bound, output_bound,
                                              body, images)) from None
    except LimitReached as exc:
        raise PaymentRequired(_limit_message(exc, key, now), code=f"{exc.budget.scope[0]}_limit_reached") from None


def _limit_message(exc: LimitReached, key: KeyRecord, now) -> str:
    """Which limit, what is left of it, what the request needs, and when the limit resets."""
    if exc.budget.scope[0] == "member":
        whose, reset = "this team member's", key.member.limit_reset
        never = "; it does not reset (a team owner or admin can raise it)"
    else:
        whose, reset, never = "this key's", key.limit_reset, ""
    which = f"{reset} " if reset else ""
    resets = f"; it resets at {next_reset(reset, now).isoformat()}" if reset else never
    return (f"{whose} {which}spending limit is reached: {units_to_usd_str(max(exc.remaining_units, 0))} USD "
            f"left of {units_to_usd_str(exc.budget.limit_units)} USD, and this request may cost up to "
            f"{units_to_usd_str(exc.needed_units)} USD{resets}")


def _credit_message(available, units, route, prompt_bound, output_bound, body, images=0) -> str:
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
