"""Token estimates without tokenizing (which would block the event loop on big prompts).

`prompt_token_bound` is an upper bound used for reservations: no tokenizer emits more tokens
than the UTF-8 bytes of the text, plus a few per message for the chat template. Images get a
fixed allowance above what any current vision model charges for one image.
"""

import orjson

PER_MESSAGE_OVERHEAD = 8
IMAGE_TOKEN_ALLOWANCE = 40_000   # gpt-4o-mini bills ~36,800 tokens for a large high-detail image
DEFAULT_OUTPUT_TOKENS = 4096


def prompt_token_bound(body: dict) -> int:
    total = 0
    for message in body.get("messages", ()):
        total += PER_MESSAGE_OVERHEAD + _content_bound(message.get("content"))
        if message.get("tool_calls"):
            total += len(orjson.dumps(message["tool_calls"]))
    if body.get("tools"):
        total += len(orjson.dumps(body["tools"]))
    if body.get("response_format"):
        total += len(orjson.dumps(body["response_format"]))
    return total


def _content_bound(content) -> int:
    if isinstance(content, str):
        return len(content.encode())
    if not isinstance(content, list):
        return 0
    total = 0
    for part in content:
        if part["type"] in ("image_url", "input_image", "image"):
            total += IMAGE_TOKEN_ALLOWANCE
        else:
            total += len(orjson.dumps(part))
    return total


def output_token_bound(body: dict, model_max_output: int | None, context_length: int | None) -> int:
    """The most tokens the request can produce: its own limit, capped by the model's when known.
    With neither, a default; the request's own limit is never cut below what it asked for,
    since the provider may honour it."""
    requested = body.get("max_completion_tokens") or body.get("max_tokens")
    ceiling = model_max_output or context_length
    if requested:
        per_choice = min(requested, ceiling) if ceiling else requested
    else:
        per_choice = ceiling or DEFAULT_OUTPUT_TOKENS
    return per_choice * (body.get("n") or 1)


def rough_tokens(chars: int) -> int:
    """About four characters a token: only for billing a stream the client abandoned."""
    return (chars + 3) // 4
