"""The interface of providers that make images (/v1/images/generations, /edits, /variations).

Requests travel in OpenAI's Images shape: a generation's JSON body, or an edit's or variation's
text fields with the uploaded files beside them. Uploaded bytes stay in their (spooled, unnamed)
temporary files and are streamed to the upstream from there, never copied elsewhere.
"""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import BinaryIO

from alltoken.pricing import Usage

ENDPOINTS = ("generations", "edits", "variations")


@dataclass(frozen=True, slots=True)
class ImageSupport:
    """What one upstream model takes. A request using more is refused (400), never trimmed."""

    endpoints: frozenset[str] = frozenset()
    moderation: frozenset[str] = frozenset()   # endpoints on which it takes a `moderation` level
    streaming: frozenset[str] = frozenset()    # endpoints on which it streams partial images
    urls: bool = False                         # can answer response_format=url


NO_IMAGES = ImageSupport()


@dataclass(slots=True)
class ImageFile:
    """An uploaded image, checked by its content: type, size in bytes and pixels."""

    file: BinaryIO
    size: int
    format: str            # PNG | JPEG | WEBP
    width: int
    height: int
    has_alpha: bool

    @property
    def content_type(self) -> str:
        return f"image/{self.format.lower()}"

    def filename(self, stem: str) -> str:
        return f"{stem}.{'jpg' if self.format == 'JPEG' else self.format.lower()}"


@dataclass(slots=True)
class ImageCall:
    endpoint: str               # generations | edits | variations
    params: dict                # the JSON body, or the form's text fields (strings); "model" is the upstream's
    request_id: str
    images: tuple[ImageFile, ...] = ()
    mask: ImageFile | None = None


@dataclass(slots=True)
class ImageResult:
    body: dict                  # OpenAI's images response: created, data[], usage?, ...
    usage: Usage


class ImageProvider(ABC):
    """Mixed into providers that make images."""

    @abstractmethod
    def image_support(self, upstream_model: str) -> ImageSupport:
        """The endpoints and parameters `upstream_model` takes."""

    @abstractmethod
    async def images(self, call: ImageCall) -> ImageResult:
        """One generation, edit or variation; raises UpstreamError like chat does."""

    @abstractmethod
    def images_stream(self, call: ImageCall) -> AsyncIterator[dict]:
        """OpenAI's image stream events (`*.partial_image`, then `*.completed` with `usage`), for
        an endpoint in `streaming`. Raises UpstreamError before the first event for failures the
        router may retry, and mid-stream for a broken stream."""


def image_support(provider, upstream_model: str) -> ImageSupport:
    return provider.image_support(upstream_model) if isinstance(provider, ImageProvider) else NO_IMAGES


def images_usage(body: dict, requested_size: str | None) -> Usage:
    """Usage of an OpenAI-shape images response: its `usage` tokens (GPT image models; output
    tokens without details are image tokens), and the images made, for per-image prices."""
    usage = body["usage"] if isinstance(body.get("usage"), dict) else {}
    input_details = usage.get("input_tokens_details") or {}
    output_details = usage.get("output_tokens_details") or {}
    output_tokens = _count(usage.get("output_tokens"))
    if "image_tokens" in output_details:
        image_output = _count(output_details.get("image_tokens"))
    else:
        image_output = output_tokens - _count(output_details.get("text_tokens"))
    data = body.get("data")
    return Usage(prompt_tokens=_count(usage.get("input_tokens")), completion_tokens=output_tokens,
                 image_input_tokens=_count(input_details.get("image_tokens")), image_output_tokens=image_output,
                 images=len(data) if isinstance(data, list) else 0,
                 image_size=body.get("size") if isinstance(body.get("size"), str) else requested_size)


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
