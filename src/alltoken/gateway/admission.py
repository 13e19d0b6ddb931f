"""Admission: which model and route, and a credit hold for the worst case, before any upstream call."""

from dataclasses import dataclass

from ..billing.money import units_to_usd_str
from ..billing.pricing import affordable_output_tokens, worst_case_units
from ..billing.reservations import Hold, InsufficientCredits, KeyLimitReached
from ..routing.models import PublicModel, Route
from .auth import Caller
from .errors import bad_request, forbidden, not_found, payment_required
from .estimate import output_token_bound, prompt_token_bound


@dataclass(slots=True)
class Admission:
    model: PublicModel
    route: Route
    hold: Hold
    prompt_bound: int


_SERVES = {"chat": "chat completions or messages", "embedding": "embeddings"}
_ARTICLE = {"chat": "a chat", "embedding": "an embedding"}


def resolve_model(state, model_id: str, caller: Caller, kind: str = "chat") -> PublicModel:
    model = state.models.get(model_id)
    if model is None:
        raise not_found(f"model '{model_id}' does not exist or is not enabled here; GET /v1/models lists them",
                        param="model", code="model_not_found")
    if model.kind != kind:
        raise bad_request(f"model '{model_id}' is {_ARTICLE.get(model.kind, model.kind)} model; "
                          f"it cannot serve {_SERVES[kind]}",
                          param="model", code="wrong_model_kind")
    if caller.key.models is not None and model_id not in caller.key.models:
        raise forbidden(f"this API key may not use model '{model_id}'", code="model_not_allowed")
    return model


async def admit(state, request_id: str, body: dict, caller: Caller) -> Admission:
    """A chat completion: the prompt and output bounds come from the request and the model."""
    model = resolve_model(state, body["model"], caller)
    prompt_bound = prompt_token_bound(body)
    if model.context_length:
        prompt_bound = min(prompt_bound, model.context_length)
    output_bound = output_token_bound(body, model.max_output_tokens, model.context_length)
    return await admit_bounded(state, request_id, body, caller, model, prompt_bound, output_bound)


async def admit_bounded(state, request_id: str, body: dict, caller: Caller, model: PublicModel,
                        prompt_bound: int, output_bound: int) -> Admission:
    route = model.routes[0]
    units = worst_case_units(route.price, prompt_bound, output_bound)
    hold = await _reserve(state, request_id, caller, units, route, prompt_bound, output_bound, body)
    return Admission(model, route, hold, prompt_bound)


async def _reserve(state, request_id, caller, units, route, prompt_bound, output_bound, body) -> Hold:
    key = caller.key
    try:
        return await state.book.reserve(request_id, caller.account.id, key.id, key.limit_units, units,
                                        key_spent_at_load=key.spent_units)
    except InsufficientCredits as exc:
        raise payment_required(_credit_message(exc.available_units, units, route, prompt_bound, output_bound,
                                               body)) from None
    except KeyLimitReached as exc:
        raise payment_required(
            f"this key's spending limit is reached: {units_to_usd_str(max(exc.remaining_units, 0))} USD left of "
            f"{units_to_usd_str(key.limit_units)} USD, and this request may cost up to {units_to_usd_str(units)} USD",
            code="key_limit_reached") from None


def _credit_message(available, units, route, prompt_bound, output_bound, body) -> str:
    message = (f"insufficient credits: this request may cost up to {units_to_usd_str(units)} USD "
               f"({prompt_bound} input and {output_bound} output tokens at most), "
               f"and the account has {units_to_usd_str(max(available, 0))} USD available")
    affordable = affordable_output_tokens(route.price, available, prompt_bound, body.get("n") or 1)
    if affordable > 0:
        field = "max_completion_tokens" if body.get("max_completion_tokens") else "max_tokens"
        return message + f"; set {field} to {affordable} or less, or add credits"
    return message + "; add credits"
