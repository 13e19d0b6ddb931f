"""Token bounds of an image request, for its credit reservation (worked out before the provider is
called, from the size, quality and n asked for; the charge is then the usage the provider reports).

Output: tokens per megapixel by quality, above what GPT image models report (gpt-image-1 bills
4,160 tokens for a high-quality 1024x1024 image, about 3,970 per megapixel; gpt-image-2 about
6,700). Input: the prompt's UTF-8 bytes (no tokenizer makes more tokens than bytes) and a fixed
allowance per uploaded image, the mask included.
"""

import math

from alltoken.images.params import ImageRequest
from alltoken.pricing import Usage
from alltoken.providers.image_base import ImageFile

TOKENS_PER_MEGAPIXEL = {"low": 1_000, "medium": 3_000, "high": 8_000, "auto": 8_000}
OTHER_QUALITY_TOKENS_PER_MEGAPIXEL = 16_000     # xhigh, max and any quality not listed above
INPUT_IMAGE_TOKENS = 10_000                     # gpt-image-1: at most ~7,400 for one high-fidelity input
AUTO_PIXELS = 1536 * 1024                       # the largest standard size, for `auto` or none
MAX_PIXELS = 3840 * 2160                        # the largest size any current model makes


def token_bounds(request: ImageRequest, uploads: tuple[ImageFile, ...]) -> tuple[int, int]:
    """(input tokens, output tokens) at most."""
    prompt = request.prompt_bytes + INPUT_IMAGE_TOKENS * len(uploads)
    rate = TOKENS_PER_MEGAPIXEL.get(request.quality or "auto", OTHER_QUALITY_TOKENS_PER_MEGAPIXEL)
    per_image = math.ceil(_pixels(request.size, uploads) * rate / 1_000_000)
    return prompt, per_image * request.n


def _pixels(size: str | None, uploads: tuple[ImageFile, ...]) -> int:
    if size in (None, "auto"):
        first = uploads[0].width * uploads[0].height if uploads else 0   # an edit may keep its input's size
        return min(max(AUTO_PIXELS, first), MAX_PIXELS)
    width, _, height = size.partition("x")
    if width.isdecimal() and height.isdecimal():    # isdigit() takes "²", which int() refuses
        return min(int(width) * int(height), MAX_PIXELS)
    return MAX_PIXELS


def bounds_as_usage(request: ImageRequest, prompt_bound: int, output_bound: int) -> Usage:
    """The bounds as a usage to charge (a streamed request whose client left before the image was
    complete): every uploaded-image and output token at the image rates, the prompt at the text rate."""
    return Usage(prompt_tokens=prompt_bound, completion_tokens=output_bound,
                 image_input_tokens=prompt_bound - request.prompt_bytes, image_output_tokens=output_bound,
                 images=request.n, image_size=request.size)
