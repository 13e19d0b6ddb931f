"""The demo provider's images: real pictures drawn with Pillow, so generation, edits (masks and
several images included) and variations work offline, with usage reported like a GPT image model's.

Deterministic: the same prompt draws the same picture. It has no content filter and takes the
`moderation` parameter on generations, as GPT image models do.
"""

import asyncio
import base64
import hashlib
import io
import math
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from alltoken.errors import UpstreamError
from alltoken.providers.image_base import ENDPOINTS, ImageCall, ImageFile, ImageResult, ImageSupport, images_usage

if TYPE_CHECKING:   # Pillow is imported when the first picture is made, not with the gateway
    from PIL import Image

SUPPORT = ImageSupport(endpoints=frozenset(ENDPOINTS), moderation=frozenset({"generations"}),
                       streaming=frozenset({"generations", "edits"}))
DEFAULT_SIDE = 1024
MAX_SIDE = 2048                 # whatever size is asked, the demo draws at most this much a side
# Output tokens of one 1024x1024 image by quality (gpt-image-1's published counts), scaled by area.
OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "auto": 1056}
FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


async def make_images(call: ImageCall, count_tokens) -> ImageResult:
    """Drawing is CPU work: it runs in a thread, off the event loop."""
    body = await asyncio.to_thread(_respond, call, count_tokens)
    return ImageResult(body, images_usage(body, body["size"]))


async def stream_images(call: ImageCall, count_tokens) -> AsyncIterator[dict]:
    """OpenAI's stream events: `partial_images` previews (the demo's are the finished picture),
    then the completed image with the usage."""
    partials = int(call.params.get("partial_images") or 0)    # 0 to 3, checked; a form's is text
    body = await asyncio.to_thread(_respond, call, count_tokens)
    prefix = "image_generation" if call.endpoint == "generations" else "image_edit"
    shared = {name: body[name] for name in ("background", "output_format", "quality", "size")}
    picture = body["data"][0]["b64_json"]
    for index in range(partials):
        yield {"type": f"{prefix}.partial_image", "b64_json": picture, "created_at": int(time.time()),
               "partial_image_index": index, **shared}
    yield {"type": f"{prefix}.completed", "b64_json": picture, "created_at": int(time.time()), **shared,
           "usage": body["usage"]}


def _respond(call: ImageCall, count_tokens) -> dict:
    params = call.params
    output_format = params.get("output_format") or "png"
    if output_format not in FORMATS:
        raise _invalid(f"output_format must be one of {', '.join(FORMATS)}", "output_format")
    usage = demo_usage(call, count_tokens)     # checks n, quality and size first
    size = _size(params.get("size"), call.images)
    prompt = str(params.get("prompt") or "")
    pictures = [_picture(call, prompt, index, size) for index in range(int(params.get("n") or 1))]
    return {
        "created": int(time.time()),
        "data": [{"b64_json": _encode(picture, FORMATS[output_format])} for picture in pictures],
        "background": "opaque", "output_format": output_format, "quality": params.get("quality") or "auto",
        "size": f"{size[0]}x{size[1]}", "usage": usage,
    }


def demo_usage(call: ImageCall, count_tokens) -> dict:
    """The usage the demo reports, in OpenAI's shape: text tokens of the prompt, tokens for each
    uploaded image (mask included) and, for each image made, output tokens by quality and area."""
    params = call.params
    n = int(params.get("n") or 1)       # 1 to 10, checked; a form's is text
    quality = params.get("quality") or "auto"
    if quality not in OUTPUT_TOKENS:
        raise _invalid(f"quality must be one of {', '.join(OUTPUT_TOKENS)}", "quality")
    width, height = _size(params.get("size"), call.images)
    output_tokens = n * math.ceil(OUTPUT_TOKENS[quality] * width * height / DEFAULT_SIDE**2)
    text_tokens = count_tokens(str(params.get("prompt") or ""))
    image_tokens = sum(_input_tokens(upload) for upload in (*call.images, *([call.mask] if call.mask else [])))
    return {"input_tokens": text_tokens + image_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            "output_tokens": output_tokens, "total_tokens": text_tokens + image_tokens + output_tokens,
            "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0}}


def _picture(call: ImageCall, prompt: str, index: int, size: tuple[int, int]) -> "Image.Image":
    from PIL import Image, ImageOps

    if call.endpoint == "generations":
        return _drawn(prompt, index, size)
    base = _opened(call.images[0], size)
    if call.endpoint == "variations":
        return ImageOps.mirror(base) if index % 2 == 0 else ImageOps.flip(base)
    for other in call.images[1:]:
        base = Image.blend(base, _opened(other, size), 0.3)
    tinted = Image.blend(base, Image.new("RGB", size, _colour(prompt, index)), 0.6)
    if call.mask is None:
        return tinted
    keep = _opened(call.mask, size, mode="RGBA").getchannel("A")   # transparent marks what to edit
    return Image.composite(base, tinted, keep)


def _drawn(prompt: str, index: int, size: tuple[int, int]) -> "Image.Image":
    """Concentric rectangles in two colours taken from the prompt."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", size, _colour(prompt, index))
    draw = ImageDraw.Draw(picture)
    accent = _colour(prompt[::-1], index + 1)
    width, height = size
    for step in range(0, min(width, height) // 2, max(min(width, height) // 16, 1) * 2):
        draw.rectangle((step, step, width - 1 - step, height - 1 - step), outline=accent, width=4)
    return picture


def _opened(upload: ImageFile, size: tuple[int, int], mode: str = "RGB") -> "Image.Image":
    from PIL import Image, ImageOps

    upload.file.seek(0)
    with Image.open(upload.file) as image:
        return ImageOps.exif_transpose(image).convert(mode).resize(size)


def _colour(text: str, index: int) -> tuple[int, int, int]:
    digest = hashlib.sha256(f"{index}:{text}".encode()).digest()
    return digest[0], digest[1], digest[2]


def _size(value, images: tuple[ImageFile, ...]) -> tuple[int, int]:
    if value in (None, "auto"):
        if images:
            return _capped(images[0].width, images[0].height)
        return DEFAULT_SIDE, DEFAULT_SIDE
    width, _, height = str(value).partition("x")
    if not (width.isdecimal() and height.isdecimal() and int(width) > 0 and int(height) > 0):
        raise _invalid("size must be WIDTHxHEIGHT, e.g. 1024x1024, or auto", "size")
    return _capped(int(width), int(height))


def _capped(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, MAX_SIDE / max(width, height))
    return max(int(width * scale), 1), max(int(height * scale), 1)


def _input_tokens(upload: ImageFile) -> int:
    """65 plus 129 per 512-pixel tile, as GPT image models count an input image."""
    width, height = _capped(upload.width, upload.height)
    return 65 + 129 * math.ceil(width / 512) * math.ceil(height / 512)


def _encode(picture: "Image.Image", image_format: str) -> str:
    out = io.BytesIO()
    picture.save(out, format=image_format)
    return base64.b64encode(out.getvalue()).decode()


def _invalid(message: str, param: str) -> UpstreamError:
    return UpstreamError(400, message, type="invalid_request_error", code="invalid_value", param=param)
