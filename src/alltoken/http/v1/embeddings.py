"""POST /v1/embeddings: OpenAI's shape for every provider that offers embeddings.

Providers return float vectors; the `base64` encoding the official SDK asks for by default
(little-endian float32, base64) is done here, once, for all of them.
"""

import base64
import sys
import time
from array import array

from starlette.requests import Request
from starlette.responses import Response

from alltoken.errors import UpstreamError
from alltoken.http.auth import authenticate
from alltoken.http.errors import bad_request, error_response
from alltoken.http.plumbing import endpoint, json_response, read_json_object, request_id, served_headers
from alltoken.http.v1.validation import validate_embeddings
from alltoken.providers.base import EmbeddingCall, EmbeddingProvider
from alltoken.routing.models import PublicModel
from alltoken.runtime.accounting import Outcome, finish, with_cost
from alltoken.runtime.admission import admit_bounded, resolve_model
from alltoken.runtime.attempts import first_success


@endpoint
async def embeddings(request: Request) -> Response:
    started = time.perf_counter()
    state = request.app.state.gateway
    rid = request_id(request)
    caller = await authenticate(request, state.auth)
    body, _ = await read_json_object(request)
    validate_embeddings(body)
    model = resolve_model(state, body["model"], caller, kind="embedding")
    if not any(isinstance(route.provider, EmbeddingProvider) for route in model.routes):
        raise bad_request(f"no provider of model '{model.id}' offers embeddings", param="model")
    _check_dimensions(body.get("dimensions"), model)
    admission = await admit_bounded(state, rid, body, caller, model, input_token_bound(body["input"]), 0)
    admission.candidates = [c for c in admission.candidates if isinstance(c.route.provider, EmbeddingProvider)]
    context = dict(state=state, request_id=rid, caller=caller, admission=admission, started=started)

    def call(candidate):
        return candidate.route.provider.embed(EmbeddingCall({**body, "model": candidate.route.upstream_model}, rid))

    try:
        result = await first_success(state, admission, call, state.settings.upstream_timeout_seconds)
    except UpstreamError as exc:
        await finish(outcome=Outcome("error", exc.status, error_code=exc.code), endpoint="embeddings",
                     streamed=False, **context)
        return error_response(exc, served_headers(rid, admission.route))
    headers = served_headers(rid, admission.route)
    cost = await finish(outcome=Outcome("ok", 200, result.usage), endpoint="embeddings", streamed=False,
                        **context)
    encode = _base64 if body.get("encoding_format") == "base64" else list
    return json_response({
        "object": "list", "model": model.id,
        "data": [{"object": "embedding", "index": i, "embedding": encode(v)} for i, v in enumerate(result.vectors)],
        "usage": with_cost({"prompt_tokens": result.usage.prompt_tokens, "total_tokens": result.usage.prompt_tokens},
                           result.usage, cost),
    }, headers=headers)


def _check_dimensions(dimensions: int | None, model: PublicModel) -> None:
    """A vector no longer than the model makes (the catalog's limit; the schema's cap where none is known)."""
    if dimensions is not None and model.max_dimensions is not None and dimensions > model.max_dimensions:
        raise bad_request(f"'dimensions' is {dimensions}, but model '{model.id}' makes vectors of at most "
                          f"{model.max_dimensions} dimensions", param="dimensions", code="dimensions_too_large")


def input_token_bound(inputs) -> int:
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
