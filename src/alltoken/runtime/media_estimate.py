"""Upper bounds on the input tokens of images, documents and audio inside a request, for its hold.

Nothing is tokenized and nothing large is decoded on the event loop: an inline image's pixel size comes
from the first bytes of its base64 data (the header Pillow reads), a PDF's page count from the document
itself only when it is small, and anything else gets an allowance above what any current provider charges.
The charge is capped at what the balance can take anyway (billing/reservations.py); these bounds keep the
hold honest, so that a cap is the rare exception.
"""

import base64
import binascii
import io
import re
from typing import Any

from alltoken.providers.openai_request import base64_payload

IMAGE_TOKEN_ALLOWANCE = 40_000   # gpt-4o-mini bills ~36,800 tokens for a large high-detail image
# Gemini tiles a large image into 768 x 768 squares of 258 tokens each, with no upper limit: above
# ~9,000 x 9,000 pixels that exceeds the allowance, so a huge image is bounded by its tiles.
TILE_PIXELS, TOKENS_PER_TILE = 768, 258
PAGE_TOKEN_ALLOWANCE = 4_000     # a page's text and the page as an image (Anthropic: 1,500-3,000 + ~1,600)
DOCUMENT_PAGES_ALLOWANCE = 100   # a document whose pages cannot be counted cheaply (Anthropic and OpenAI: 100 most)
DOCUMENT_TOKEN_ALLOWANCE = DOCUMENT_PAGES_ALLOWANCE * PAGE_TOKEN_ALLOWANCE
HEADER_CHARS = 64 * 1024         # base64 characters decoded to find an image's size (48 KB of bytes)
COUNTED_DOCUMENT_CHARS = 2 * 1024 * 1024   # base64 of a PDF small enough to count its pages (1.5 MB)

_PILLOW_PIXEL_LIMIT = 89_478_485           # Image.MAX_IMAGE_PIXELS by default
_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_PAGE_COUNT = re.compile(rb"/Count\s+(\d{1,7})")


def image_tokens(data: str | None) -> int:
    """An image given inline as base64 (or a data: URL): the allowance, or its tiles when it is huge.
    An image by URL (`data` None) gets the allowance: its size is unknown until it is fetched."""
    pixels = _pixel_size(data) if data else None
    if pixels is None:
        return IMAGE_TOKEN_ALLOWANCE
    width, height = pixels
    tiles = -(-width // TILE_PIXELS) * -(-height // TILE_PIXELS)
    return max(IMAGE_TOKEN_ALLOWANCE, tiles * TOKENS_PER_TILE)


def document_tokens(data: str | None) -> int:
    """A document given inline as base64 (or a data: URL): its pages at PAGE_TOKEN_ALLOWANCE when it is a
    PDF small enough to count them, else DOCUMENT_TOKEN_ALLOWANCE (a reference such as a file id too)."""
    if data is None:
        return DOCUMENT_TOKEN_ALLOWANCE
    payload = base64_payload(data)
    pages = _pdf_pages(payload) if len(payload) <= COUNTED_DOCUMENT_CHARS else None
    return pages * PAGE_TOKEN_ALLOWANCE if pages else DOCUMENT_TOKEN_ALLOWANCE


def _decoded(payload: str, chars: int | None = None) -> bytes | None:
    text = payload if chars is None else payload[:chars - chars % 4]
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return None


def _pixel_size(data: str) -> tuple[int, int] | None:
    from PIL import Image  # here, not at import: a gateway loads Pillow only once it sees an image

    head = _decoded(base64_payload(data), HEADER_CHARS)
    if not head:
        return None
    try:
        with Image.open(io.BytesIO(head)) as image:
            return image.size
    except Image.DecompressionBombError:   # more pixels than Pillow will even open: as many as it refuses
        side = int((2 * (Image.MAX_IMAGE_PIXELS or _PILLOW_PIXEL_LIMIT)) ** 0.5)
        return side, side
    except Exception:  # not an image Pillow knows, or its size lies past the bytes read: the allowance
        return None


def _pdf_pages(payload: str) -> int | None:
    document = _decoded(payload)
    if not document or not document.startswith(b"%PDF"):
        return None
    objects = len(_PAGE_OBJECT.findall(document))
    counts = [int(count) for count in _PAGE_COUNT.findall(document)]
    return max(objects, *counts) if counts else objects or None


def anthropic_source_data(block: dict[str, Any]) -> str | None:
    """The base64 data of an Anthropic image or document block, None for a url or file source."""
    source = block.get("source")
    data = source.get("data") if isinstance(source, dict) and source.get("type") == "base64" else None
    return data if isinstance(data, str) else None
