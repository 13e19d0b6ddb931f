"""OpenAI's Images API, and servers that speak it: generations as JSON, edits and variations as
multipart forms (OpenAI's Images API reference).

Parameters go upstream exactly as the client sent them, `model` aside; the one exception is
`response_format: b64_json` to a GPT image model, which OpenAI rejects as unknown although it is
what those models always return. Uploads stream from their temporary files.
"""

import asyncio
from collections.abc import AsyncIterator, Mapping

import aiohttp
import orjson
from aiohttp import payload

from alltoken.config import ProviderConfig
from alltoken.errors import UpstreamError
from alltoken.providers.image_base import (
    NO_IMAGES,
    ImageCall,
    ImageFile,
    ImageProvider,
    ImageResult,
    ImageSupport,
    images_usage,
)
from alltoken.providers.transport import Transport
from alltoken.providers.upstream import parse_json, transport_errors

GPT_IMAGE = ImageSupport(endpoints=frozenset({"generations", "edits"}), moderation=frozenset({"generations"}),
                         streaming=frozenset({"generations", "edits"}))
DALL_E_2 = ImageSupport(endpoints=frozenset({"generations", "edits", "variations"}), urls=True)
DALL_E_3 = ImageSupport(endpoints=frozenset({"generations"}), urls=True)
_CHUNK = 256 * 1024
IMAGE_TYPES = ("openai", "openai_compatible")   # not the dialects built on OpenAIProvider (mistral, llama)


def openai_image_support(upstream_model: str) -> ImageSupport:
    """dall-e-2 and -3 by name; every other model is taken to be a GPT image model (gpt-image-*,
    chatgpt-image-latest and their successors share one parameter set)."""
    if upstream_model == "dall-e-2":
        return DALL_E_2
    if upstream_model.startswith("dall-e"):
        return DALL_E_3
    return GPT_IMAGE


class OpenAIImages(ImageProvider):
    """Mixed into OpenAIProvider, which supplies what is declared here."""

    id: str
    config: ProviderConfig
    _transport: Transport
    _base_url: str
    _auth_headers: dict[str, str]

    def _upstream_error(self, status: int, raw: bytes, headers: Mapping[str, str]) -> UpstreamError:
        raise NotImplementedError

    def _upstream_chunks(self, response: aiohttp.ClientResponse) -> AsyncIterator[dict]:
        raise NotImplementedError

    def image_support(self, upstream_model: str) -> ImageSupport:
        return openai_image_support(upstream_model) if self.config.type in IMAGE_TYPES else NO_IMAGES

    async def images(self, call: ImageCall) -> ImageResult:
        params = _upstream_params(call.params)
        async with transport_errors(self.id):
            async with self._post_images(call, params, self._auth_headers) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise self._upstream_error(response.status, raw, response.headers)
        body = parse_json(self.id, raw)
        size = params.get("size")
        return ImageResult(body, images_usage(body, size if isinstance(size, str) else None))

    async def images_stream(self, call: ImageCall) -> AsyncIterator[dict]:
        headers = {**self._auth_headers, "Accept": "text/event-stream"}
        async with transport_errors(self.id):
            response = await self._post_images(call, _upstream_params(call.params), headers)
        try:
            if response.status >= 400:
                raise self._upstream_error(response.status, await response.read(), response.headers)
            async with transport_errors(self.id):
                async for event in self._upstream_chunks(response):   # OpenAIProvider's SSE reader
                    yield event
        finally:
            response.release()

    def _post_images(self, call: ImageCall, params: dict, headers: dict):
        """JSON for generations, a multipart form (the uploads streamed from their files) otherwise."""
        url = f"{self._base_url}/images/{call.endpoint}"
        if call.endpoint == "generations":
            return self._transport.session.post(url, data=orjson.dumps(params),
                                                headers={**headers, "Content-Type": "application/json"})
        return self._transport.session.post(url, data=_form(params, call.images, call.mask), headers=headers)


def _upstream_params(params: dict) -> dict:
    if params.get("response_format") == "b64_json" and not openai_image_support(str(params["model"])).urls:
        return {k: v for k, v in params.items() if k != "response_format"}
    return params


def _form(params: dict, images: tuple[ImageFile, ...], mask: ImageFile | None) -> aiohttp.MultipartWriter:
    """Several images go as repeated `image[]` parts, one as `image`, as OpenAI's SDK sends them."""
    form = aiohttp.MultipartWriter("form-data")
    for name, value in params.items():
        form.append(str(value)).set_content_disposition("form-data", name=name)
    name = "image[]" if len(images) > 1 else "image"
    for number, image in enumerate(images):
        _attach(form, name, image, f"image_{number}")
    if mask is not None:
        _attach(form, "mask", mask, "mask")
    return form


def _attach(form: aiohttp.MultipartWriter, name: str, upload: ImageFile, stem: str) -> None:
    part = form.append_payload(_UploadPayload(upload))
    part.set_content_disposition("form-data", name=name, filename=upload.filename(stem))


class _UploadPayload(payload.Payload):
    """An upload streamed from its temporary file in chunks, off the event loop, from the start on
    every write (a fallback route sends it again). The gateway closes the file, not aiohttp."""

    _autoclose = True

    def __init__(self, upload: ImageFile):
        super().__init__(upload.file, content_type=upload.content_type)
        self._size = upload.size

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        raise TypeError("an image upload is binary")

    async def write(self, writer) -> None:
        await asyncio.to_thread(self._value.seek, 0)
        while chunk := await asyncio.to_thread(self._value.read, _CHUNK):
            await writer.write(chunk)
