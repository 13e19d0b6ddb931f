"""POST /v1/images/generations (JSON), /v1/images/edits and /v1/images/variations (multipart):
OpenAI's Images API, for every provider that makes images.

The terms (§4.7, §4.8) shape the flow. The `moderation` level goes upstream exactly as the client
gave it, or not at all when it gave none; a model that takes no such parameter refuses it (400)
rather than losing it, and AllToken filters no content of its own. Uploading images needs the
account's §4.8 warranty first (403 until then). Every request that goes to a provider leaves one
moderation-log record, written before the provider is called: failed calls have one too.
"""

import time
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from alltoken.errors import UpstreamError
from alltoken.http.auth import authenticate
from alltoken.http.errors import bad_request, error_response, forbidden
from alltoken.http.gateway import gateway_of
from alltoken.http.plumbing import endpoint, json_response, read_json_object, request_id
from alltoken.http.v1.image_uploads import read_image_form
from alltoken.http.v1.images_stream import relay_image_stream
from alltoken.http.v1.validation import validate_images
from alltoken.ids import utcnow
from alltoken.images import moderation_log
from alltoken.images.estimate import bounds_as_usage, token_bounds
from alltoken.images.params import ImageRequest
from alltoken.money import units_to_usd_number
from alltoken.providers.image_base import ImageCall, ImageFile, ImageProvider, ImageResult, image_support
from alltoken.routing.models import PublicModel, Route
from alltoken.routing.router import Candidate
from alltoken.runtime import lifecycle
from alltoken.runtime.accounting import Outcome
from alltoken.runtime.admission import admissible_routes, admit_bounded, resolve_model
from alltoken.runtime.exchange import Caller, Exchange
from alltoken.runtime.gateway import Gateway


@endpoint
async def generations(request: Request) -> Response:
    received, started = utcnow(), time.perf_counter()
    gateway = gateway_of(request)
    caller = await authenticate(request, gateway.auth)
    body, _ = await read_json_object(request)
    return await _serve(gateway, request_id(request), caller, received, started, "generations", body)


@endpoint
async def edits(request: Request) -> Response:
    return await _with_uploads(request, "edits")


@endpoint
async def variations(request: Request) -> Response:
    return await _with_uploads(request, "variations")


async def _with_uploads(request: Request, endpoint_name: str) -> Response:
    received, started = utcnow(), time.perf_counter()
    gateway = gateway_of(request)
    caller = await authenticate(request, gateway.auth)
    await _require_upload_warranty(gateway, caller)   # before a byte of the upload is read
    async with read_image_form(request, gateway.settings.images, endpoint_name) as form:
        return await _serve(gateway, request_id(request), caller, received, started, endpoint_name, form.params,
                            form.images, form.mask)


async def _serve(gateway: Gateway, rid: str, caller: Caller, received: datetime, started: float,
                 endpoint_name: str, params: dict[str, Any], images: tuple[ImageFile, ...] = (),
                 mask: ImageFile | None = None) -> Response:
    wanted = ImageRequest.parse(validate_images(endpoint_name, params, form=endpoint_name != "generations"))
    model = resolve_model(gateway, wanted.model, caller, kind="image")
    routes = _serving_routes(model, caller, endpoint_name, wanted)
    prompt_bound, output_bound = token_bounds(wanted, (*images, *([mask] if mask else [])))
    exchange = Exchange(rid, caller, started, f"images.{endpoint_name}", streamed=wanted.stream)
    await admit_bounded(gateway, exchange, params, model, prompt_bound, output_bound, routes=routes,
                        images=wanted.n, image_size=wanted.size)
    record = moderation_log.ModerationRecord(rid, caller.account.id, model.id, wanted.moderation, received)
    await moderation_log.write(gateway.sessions, record)   # if it fails, the request's hold is released on exit

    def image_call(candidate: Candidate) -> ImageCall:
        return ImageCall(endpoint_name, {**params, "model": candidate.route.upstream_model}, rid, images, mask)

    if wanted.stream:   # the uploads were sent in full before the provider's first event, so they may close then
        return await relay_image_stream(gateway, exchange, image_call,
                                        bounds_as_usage(wanted, prompt_bound, output_bound))

    def call(candidate: Candidate) -> Awaitable[ImageResult]:
        return image_provider(candidate).images(image_call(candidate))

    try:
        result, cost = await lifecycle.answer(gateway, exchange, call, lambda r: Outcome("ok", 200, r.usage))
    except UpstreamError as exc:
        return error_response(exc, exchange.served_headers())
    body = result.body
    if isinstance(body.get("usage"), dict):
        body["usage"] = {**body["usage"], "cost": units_to_usd_number(cost)}
    return json_response(body, headers=exchange.served_headers())


def image_provider(candidate: Candidate) -> ImageProvider:
    provider = candidate.route.provider
    assert isinstance(provider, ImageProvider)   # the candidates are routes that make images (_serving_routes)
    return provider


def _serving_routes(model: PublicModel, caller: Caller, endpoint_name: str, wanted: ImageRequest) -> list[Route]:
    """The admissible routes that can take this request as it is; a 400 when none can."""
    path = f"/v1/images/{endpoint_name}"
    routes = [r for r in admissible_routes(model, caller)
              if endpoint_name in image_support(r.provider, r.upstream_model).endpoints]
    if not routes:
        raise bad_request(f"model '{model.id}' does not offer {path}", param="model", code="unsupported_endpoint")
    if wanted.moderation_sent:
        routes = [r for r in routes if endpoint_name in image_support(r.provider, r.upstream_model).moderation]
        if not routes:
            where = "" if endpoint_name == "generations" else " (GPT image models take it on generations only)"
            raise bad_request(f"model '{model.id}' has no 'moderation' parameter on {path}{where}; AllToken passes "
                              "the level you set untouched and never drops it silently, so remove 'moderation' "
                              "from this request", param="moderation", code="unsupported_parameter")
    if wanted.stream:
        routes = [r for r in routes if endpoint_name in image_support(r.provider, r.upstream_model).streaming]
        if not routes:
            raise bad_request(f"model '{model.id}' cannot stream partial images on {path}: leave out 'stream'",
                              param="stream", code="unsupported_parameter")
    if wanted.wants_url:
        routes = [r for r in routes if image_support(r.provider, r.upstream_model).urls]
        if not routes:
            raise bad_request(f"model '{model.id}' returns images as base64 only and AllToken does not host image "
                              "files: omit 'response_format' or set it to 'b64_json'", param="response_format",
                              code="unsupported_parameter")
    return routes


async def _require_upload_warranty(gateway: Gateway, caller: Caller) -> None:
    rights = gateway.upload_rights
    if not await rights.granted(caller.account.id):
        raise forbidden(
            "image edits and variations upload your images, so this account must first give the upload warranty "
            f"of the terms of service (section 4.8, terms version {rights.version}): the account's owner reads and "
            "gives it in the console (Settings, or POST /api/terms/image-uploads from their session), or an "
            f"administrator runs `alltoken terms accept --account {caller.account.id} --image-uploads`",
            code="image_upload_terms_not_accepted")
