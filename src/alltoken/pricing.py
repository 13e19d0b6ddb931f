"""Per-token prices in integer units and the cost of one request's usage."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alltoken.money import units_to_usd_str, usd_to_units

PRICE_FIELDS = ("prompt", "completion", "input_cache_read", "input_cache_write", "internal_reasoning", "request",
                "input_image", "output_image", "image")
# A per-image price for one output size overrides `image` at that size: `image_256x256: "0.016"`.
_SIZED_IMAGE = re.compile(r"^image_(\d+x\d+)$")


@dataclass(frozen=True, slots=True)
class Price:
    """Units per token (request: units per request; image: units per generated image). None means
    'not offered separately'. Image models: `prompt`/`completion` are text tokens, `input_image` and
    `output_image` image tokens; `image` prices each generated image, `image_sizes` per output size."""

    prompt: int
    completion: int
    input_cache_read: int | None = None
    input_cache_write: int | None = None
    internal_reasoning: int | None = None
    request: int = 0
    input_image: int | None = None
    output_image: int | None = None
    image: int = 0
    image_sizes: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_usd_strings(cls, table: Mapping[str, object]) -> "Price":
        sized = {match.group(1): v for k, v in table.items() if (match := _SIZED_IMAGE.match(k))}
        unknown = {k for k in table if k not in PRICE_FIELDS and not _SIZED_IMAGE.match(k)}
        if unknown:
            raise ValueError(f"unknown price fields: {sorted(unknown)}")
        if "prompt" not in table or "completion" not in table:
            raise ValueError("a price needs at least 'prompt' and 'completion'")
        values: dict[str, Any] = {k: usd_to_units(str(v)) for k, v in table.items()
                                  if v is not None and not _SIZED_IMAGE.match(k)}
        sizes = tuple((size, usd_to_units(str(v))) for size, v in sized.items())
        if any(v < 0 for v in values.values()) or any(v < 0 for _, v in sizes):
            raise ValueError("prices must not be negative")
        return cls(**values, image_sizes=sizes)

    def per_image(self, size: str | None) -> int:
        """The price of one generated image of `size` (None or an unlisted size: the `image` price)."""
        return self.image if size is None else dict(self.image_sizes).get(size, self.image)

    def dearest_image(self) -> int:
        return max([self.image, *(units for _, units in self.image_sizes)])

    def marked_up(self, basis_points: int) -> "Price":
        """Every component raised by basis_points/10000 (500 = 5%), rounded up to a whole unit
        (1e-12 USD) so the platform never sells below its fee; 0 leaves the price as it is."""
        if not basis_points:
            return self

        def up(units: int) -> int:
            return -(-units * (10_000 + basis_points) // 10_000)

        raised: dict[str, Any] = {name: None if (units := getattr(self, name)) is None else up(units)
                                  for name in PRICE_FIELDS}
        return Price(**raised, image_sizes=tuple((size, up(units)) for size, units in self.image_sizes))

    def as_usd_strings(self) -> dict[str, str]:
        """The public form (/v1/models): USD per token (per image for `image` and `image_WxH`) as decimal strings."""
        out = {}
        for name in PRICE_FIELDS:
            value = getattr(self, name)
            if value is not None and (value or name in ("prompt", "completion")):
                out[name] = units_to_usd_str(value, min_places=0)
        for size, units in self.image_sizes:
            out[f"image_{size}"] = units_to_usd_str(units, min_places=0)
        return out


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider reported them, in OpenAI's inclusive convention:
    cached_tokens, cache_write_tokens and image_input_tokens are part of prompt_tokens,
    reasoning_tokens and image_output_tokens are part of completion_tokens.
    `images` counts generated images of `image_size` (for models priced per image)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    image_input_tokens: int = 0
    image_output_tokens: int = 0
    images: int = 0
    image_size: str | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_openai(cls, usage: Mapping[str, Any] | None) -> "Usage":
        if not usage:
            return cls()
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        return cls(
            prompt_tokens=_count(usage.get("prompt_tokens")),
            completion_tokens=_count(usage.get("completion_tokens")),
            cached_tokens=_count(prompt_details.get("cached_tokens")),
            cache_write_tokens=_count(prompt_details.get("cache_write_tokens")),
            reasoning_tokens=_count(completion_details.get("reasoning_tokens")),
        )


def _count(value: object) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def cost_units(price: Price, usage: Usage) -> int:
    """Exact cost: every token class at its own price, nothing counted twice."""
    image_input = min(usage.image_input_tokens, usage.prompt_tokens)
    cached = min(usage.cached_tokens, usage.prompt_tokens - image_input)
    cache_write = min(usage.cache_write_tokens, usage.prompt_tokens - image_input - cached)
    fresh_prompt = usage.prompt_tokens - image_input - cached - cache_write
    image_output = min(usage.image_output_tokens, usage.completion_tokens)
    reasoning = min(usage.reasoning_tokens, usage.completion_tokens - image_output)
    visible_output = usage.completion_tokens - image_output - reasoning
    return (
        fresh_prompt * price.prompt
        + cached * _or(price.input_cache_read, price.prompt)
        + cache_write * _or(price.input_cache_write, price.prompt)
        + image_input * _or(price.input_image, price.prompt)
        + visible_output * price.completion
        + reasoning * _or(price.internal_reasoning, price.completion)
        + image_output * _or(price.output_image, price.completion)
        + usage.images * price.per_image(usage.image_size)
        + price.request
    )


def worst_case_units(price: Price, max_prompt_tokens: int, max_completion_tokens: int, images: int = 0,
                     image_size: str | None = None) -> int:
    """Upper bound for a reservation: every input token at the dearest input rate, every output
    token at the dearest output rate, and `images` generated images of `image_size`."""
    input_rate = max(price.prompt, price.input_cache_read or 0, price.input_cache_write or 0, price.input_image or 0)
    output_rate = max(price.completion, price.internal_reasoning or 0, price.output_image or 0)
    return (max_prompt_tokens * input_rate + max_completion_tokens * output_rate
            + images * (price.per_image(image_size) if image_size else price.dearest_image()) + price.request)


def affordable_output_tokens(price: Price, budget_units: int, max_prompt_tokens: int, choices: int = 1) -> int:
    """The largest output limit whose worst case fits the budget (0 if none does)."""
    rate = max(price.completion, price.internal_reasoning or 0) * choices
    left = budget_units - worst_case_units(price, max_prompt_tokens, 0)
    if left <= 0:
        return 0
    return left // rate if rate else 0


def _or(value: int | None, fallback: int) -> int:
    return fallback if value is None else value
