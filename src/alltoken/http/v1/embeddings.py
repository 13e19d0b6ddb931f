"""POST /v1/embeddings: OpenAI's shape for every provider that offers embeddings.

Providers return float vectors; the `base64` encoding the official SDK asks for by default
(little-endian float32, base64) is done here, once, for all of them.
"""

import base64
import sys
import time
from array import array
from collections.abc import Awaitable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from alltoken.errors import UpstreamError
from alltoken.http.auth import authenticate
from alltoken.http.errors import bad_request, error_response
from alltoken.http.gateway import gateway_of
from alltoken.http.plumbing import endpoint, json_response, read_json_object, request_id
from alltoken.http.v1.validation import validate_embeddings
from alltoken.providers.base import EmbeddingCall, EmbeddingProvider, EmbeddingResult
from alltoken.routing.models import PublicModel, Route
from alltoken.routing.router import Candidate
from alltoken.runtime import lifecycle
from alltoken.runtime.accounting import Outcome, with_cost
from alltoken.runtime.admission import admit_bounded, resolve_model
from alltoken.runtime.exchange import Exchange


@endpoint
async def embeddings(request: Request) -> Response:
    started = time.perf_counter()
    gateway = gateway_of(request)
    caller = await authenticate(request, gateway.auth)
    body, _ = await read_json_object(request)
    validate_embeddings(body)
    model = resolve_model(gateway, body["model"], caller, kind="embedding")
    if not any(_embeds(route) for route in model.routes):
        raise bad_request(f"no provider of model '{model.id}' offers embeddings", param="model")
    _check_dimensions(body.get("dimensions"), model)
    exchange = Exchange(request_id(request), caller, started, "embeddings")
    await admit_bounded(gateway, exchange, body, model, input_token_bound(body["input"]), 0, serves=_embeds)
    rid = exchange.request_id

    def call(candidate: Candidate) -> Awaitable[EmbeddingResult]:
        provider = candidate.route.provider
        assert isinstance(provider, EmbeddingProvider)   # the candidates are the routes that embed
        return provider.embed(EmbeddingCall({**body, "model": candidate.route.upstream_model}, rid))

    try:
        result, cost = await lifecycle.answer(gateway, exchange, call, lambda r: Outcome("ok", 200, r.usage))
    except UpstreamError as exc:
        return error_response(exc, exchange.served_headers())
    encode = _base64 if body.get("encoding_format") == "base64" else list
    return json_response({
        "object": "list", "model": model.id,
        "data": [{"object": "embedding", "index": i, "embedding": encode(v)} for i, v in enumerate(result.vectors)],
        "usage": with_cost({"prompt_tokens": result.usage.prompt_tokens, "total_tokens": result.usage.prompt_tokens},
                           result.usage, cost),
    }, headers=exchange.served_headers())


def _embeds(route: Route) -> bool:
    return isinstance(route.provider, EmbeddingProvider)


def _check_dimensions(dimensions: int | None, model: PublicModel) -> None:
    """A vector no longer than the model makes (the catalog's limit; the schema's cap where none is known)."""
    if dimensions is not None and model.max_dimensions is not None and dimensions > model.max_dimensions:
        raise bad_request(f"'dimensions' is {dimensions}, but model '{model.id}' makes vectors of at most "
                          f"{model.max_dimensions} dimensions", param="dimensions", code="dimensions_too_large")


def input_token_bound(inputs: Any) -> int:
    """No tokenizer makes more tokens than UTF-8 bytes; token-id inputs are their own count."""
    items = [inputs] if isinstance(inputs, str) else inputs
    if items and all(isinstance(i, int) for i in items):
        return len(items)
    return sum(len(i.encode()) if isinstance(i, str) else len(i) for i in items)


def _base64(vector: list[float]) -> str:
    packed = array("f", vector)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()
