"""Per-token prices in integer units and the cost of one request's usage."""

from dataclasses import dataclass

from .money import units_to_usd_str, usd_to_units

PRICE_FIELDS = ("prompt", "completion", "input_cache_read", "input_cache_write", "internal_reasoning", "request")


@dataclass(frozen=True, slots=True)
class Price:
    """Units per token (request: units per request). None means 'not offered separately'."""

    prompt: int
    completion: int
    input_cache_read: int | None = None
    input_cache_write: int | None = None
    internal_reasoning: int | None = None
    request: int = 0

    @classmethod
    def from_usd_strings(cls, table: dict) -> "Price":
        unknown = set(table) - set(PRICE_FIELDS)
        if unknown:
            raise ValueError(f"unknown price fields: {sorted(unknown)}")
        if "prompt" not in table or "completion" not in table:
            raise ValueError("a price needs at least 'prompt' and 'completion'")
        values = {k: usd_to_units(str(v)) for k, v in table.items() if v is not None}
        if any(v < 0 for v in values.values()):
            raise ValueError("prices must not be negative")
        return cls(**values)

    def marked_up(self, basis_points: int) -> "Price":
        """Every component raised by basis_points/10000 (500 = 5%), rounded up to a whole unit
        (1e-12 USD) so the platform never sells below its fee; 0 leaves the price as it is."""
        if not basis_points:
            return self

        def up(units: int | None) -> int | None:
            return None if units is None else -(-units * (10_000 + basis_points) // 10_000)

        return Price(**{name: up(getattr(self, name)) for name in PRICE_FIELDS})

    def as_usd_strings(self) -> dict[str, str]:
        """The public form (/v1/models): USD per token as decimal strings."""
        out = {}
        for name in PRICE_FIELDS:
            value = getattr(self, name)
            if value is not None and (value or name in ("prompt", "completion")):
                out[name] = units_to_usd_str(value, min_places=0)
        return out


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider reported them, in OpenAI's inclusive convention:
    cached_tokens and cache_write_tokens are part of prompt_tokens,
    reasoning_tokens are part of completion_tokens."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_openai(cls, usage: dict | None) -> "Usage":
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


def _count(value) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def cost_units(price: Price, usage: Usage) -> int:
    """Exact cost: every token class at its own price, nothing counted twice."""
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    cache_write = min(usage.cache_write_tokens, usage.prompt_tokens - cached)
    fresh_prompt = usage.prompt_tokens - cached - cache_write
    reasoning = min(usage.reasoning_tokens, usage.completion_tokens)
    visible_output = usage.completion_tokens - reasoning
    return (
        fresh_prompt * price.prompt
        + cached * _or(price.input_cache_read, price.prompt)
        + cache_write * _or(price.input_cache_write, price.prompt)
        + visible_output * price.completion
        + reasoning * _or(price.internal_reasoning, price.completion)
        + price.request
    )


def worst_case_units(price: Price, max_prompt_tokens: int, max_completion_tokens: int) -> int:
    """Upper bound for a reservation: every input token at the dearest input rate."""
    input_rate = max(price.prompt, price.input_cache_read or 0, price.input_cache_write or 0)
    output_rate = max(price.completion, price.internal_reasoning or 0)
    return max_prompt_tokens * input_rate + max_completion_tokens * output_rate + price.request


def affordable_output_tokens(price: Price, budget_units: int, max_prompt_tokens: int, choices: int = 1) -> int:
    """The largest output limit whose worst case fits the budget (0 if none does)."""
    rate = max(price.completion, price.internal_reasoning or 0) * choices
    left = budget_units - worst_case_units(price, max_prompt_tokens, 0)
    if left <= 0:
        return 0
    return left // rate if rate else 0


def _or(value: int | None, fallback: int) -> int:
    return fallback if value is None else value
