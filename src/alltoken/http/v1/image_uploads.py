"""The multipart body of /v1/images/edits and /variations, read with bounded memory and checked.

Starlette's parser (python-multipart underneath) keeps at most 1 MB of each file in memory and
spools the rest to an unnamed temporary file, which disappears when closed; the request stream is
counted as it arrives, so a body over the limit stops there (413) without being stored. Each
image is then judged by its content (Pillow reads only its header): PNG, JPEG or WebP, whatever
its name or declared type says; the mask must be a PNG with alpha, the size of the first image.
The bytes are read again only to stream them to the provider.
"""

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from alltoken.config import ImageSettings
from alltoken.errors import InvalidRequest, TooLarge
from alltoken.providers.image_base import ImageFile

FORMATS = ("PNG", "JPEG", "WEBP")
MAX_FIELDS = 64
MAX_FIELD_BYTES = 256 * 1024        # a text field: a 32,000-character prompt is at most 128 KB of UTF-8
_ROTATED = (5, 6, 7, 8)             # EXIF orientations that swap width and height


@dataclass(slots=True)
class ImageForm:
    params: dict[str, str]          # the text fields, as sent
    images: tuple[ImageFile, ...]
    mask: ImageFile | None


class _TooLarge(Exception):
    pass


@contextlib.asynccontextmanager
async def read_image_form(request: Request, limits: ImageSettings, endpoint: str) -> AsyncIterator[ImageForm]:
    """The checked form; its temporary files are closed (and so gone) when the block ends."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise InvalidRequest(f"/v1/images/{endpoint} takes multipart/form-data: the image files and the other "
                             "parameters as form fields")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_request_bytes:
        raise TooLarge(f"the upload is {declared} bytes; the limit is {limits.max_request_bytes}")
    form = await _parse(request, limits)
    try:
        yield await _checked(form, limits, endpoint)
    finally:
        await form.close()


async def _parse(request: Request, limits: ImageSettings) -> FormData:
    async with contextlib.aclosing(_counted(request.stream(), limits.max_request_bytes)) as stream:
        parser = MultiPartParser(request.headers, stream, max_files=limits.max_images + 2, max_fields=MAX_FIELDS,
                                 max_part_size=MAX_FIELD_BYTES)
        try:
            return await parser.parse()   # closes the files it made if it fails
        except MultiPartException as exc:
            raise InvalidRequest(f"the multipart form could not be read: {exc.message}") from None
        except _TooLarge:
            raise TooLarge(f"the upload is more than {limits.max_request_bytes} bytes, the limit") from None


async def _counted(stream: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit:
            raise _TooLarge()
        yield chunk


async def _checked(form: FormData, limits: ImageSettings, endpoint: str) -> ImageForm:
    params: dict[str, str] = {}
    images: list[tuple[str, UploadFile]] = []
    masks: list[UploadFile] = []
    for name, value in form.multi_items():
        if isinstance(value, str):
            if name in params:
                raise InvalidRequest(f"form field '{name}' is given more than once", param=name)
            if name in ("image", "image[]", "mask"):
                raise InvalidRequest(f"'{name}' must be a file part (an image), not a text field", param=name)
            params[name] = value
        elif name in ("image", "image[]"):
            images.append((name, value))
        elif name == "mask" and endpoint == "edits":
            masks.append(value)
        else:
            allowed = "'image' or 'image[]', and 'mask'" if endpoint == "edits" else "'image'"
            raise InvalidRequest(f"unexpected file field '{name}': /v1/images/{endpoint} takes {allowed}", param=name)
    _check_counts(images, masks, limits, endpoint)
    for name, upload in images:
        _check_bytes(upload, name, limits.max_image_bytes)
    for mask_upload in masks:
        _check_bytes(mask_upload, "mask", limits.max_mask_bytes)
    checked = [await _inspected(upload, name) for name, upload in images]
    mask = await _inspected(masks[0], "mask") if masks else None
    if mask is not None:
        _check_mask(mask, checked[0])
    return ImageForm(params, tuple(checked), mask)


def _check_counts(images: list, masks: list, limits: ImageSettings, endpoint: str) -> None:
    if not images:
        raise InvalidRequest("'image' is required: attach the image as a file part named 'image' (several as "
                             "'image[]')", param="image")
    if endpoint == "variations" and len(images) > 1:
        raise InvalidRequest("/v1/images/variations takes exactly one 'image'", param="image")
    if len(images) > limits.max_images:
        raise InvalidRequest(f"{len(images)} images were sent; at most {limits.max_images} are allowed", param="image")
    if len(masks) > 1:
        raise InvalidRequest("send at most one 'mask'", param="mask")


def _check_bytes(upload: UploadFile, name: str, limit: int) -> None:
    if upload.size is not None and upload.size > limit:
        raise TooLarge(f"'{name}' is {upload.size} bytes; the limit is {limit}")
    if not upload.size:
        raise InvalidRequest(f"'{name}' is an empty file", param=name)


async def _inspected(upload: UploadFile, name: str) -> ImageFile:
    found = await asyncio.to_thread(_read_header, upload)
    if found is None:
        raise InvalidRequest(f"'{name}' is not a PNG, JPEG or WebP image (judged by its content, not by its file name "
                             "or declared type)", param=name, code="invalid_image")
    return found


def _read_header(upload: UploadFile) -> ImageFile | None:
    from PIL import Image, UnidentifiedImageError  # here, not at import: loaded with the first upload

    file = upload.file
    file.seek(0)
    try:
        with Image.open(file, formats=FORMATS) as image:
            width, height = image.size
            if image.format in ("JPEG", "WEBP") and image.getexif().get(0x0112) in _ROTATED:
                width, height = height, width
            return ImageFile(file, upload.size or 0, str(image.format), width, height, image.has_transparency_data)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return None
    finally:
        file.seek(0)


def _check_mask(mask: ImageFile, image: ImageFile) -> None:
    if mask.format != "PNG":
        raise InvalidRequest(f"'mask' must be a PNG image with an alpha channel; it is a {mask.format}", param="mask",
                             code="invalid_mask")
    if not mask.has_alpha:
        raise InvalidRequest("'mask' has no alpha channel: its fully transparent pixels (alpha 0) mark where to edit, "
                             "so save it as a PNG with transparency (RGBA)", param="mask", code="invalid_mask")
    if (mask.width, mask.height) != (image.width, image.height):
        raise InvalidRequest(f"'mask' is {mask.width}x{mask.height} but the image it applies to (the first) is "
                             f"{image.width}x{image.height}; they must be the same size", param="mask",
                             code="invalid_mask")
