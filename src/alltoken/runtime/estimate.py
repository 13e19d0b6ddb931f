"""Token estimates without tokenizing (which would block the event loop on big prompts).

`prompt_token_bound` is an upper bound used for reservations: no tokenizer emits more tokens
than the UTF-8 bytes of the text, plus a few per message for the chat template. Images and
documents get bounds of their own (runtime/media_estimate.py); audio counts the bytes of its
base64 data, far above the tokens any provider makes of it.
"""

from typing import Any

import orjson

from alltoken.providers.openai_request import file_data, image_url, is_data_url, utf8_token_bound
from alltoken.runtime.media_estimate import document_tokens, image_tokens

PER_MESSAGE_OVERHEAD = 8
DEFAULT_OUTPUT_TOKENS = 4096
IMAGE_PARTS = ("image_url", "input_image", "image")


def prompt_token_bound(body: dict[str, Any]) -> int:
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


def _content_bound(content: Any) -> int:
    if isinstance(content, str):
        return utf8_token_bound(content)
    if not isinstance(content, list):
        return 0
    total = 0
    for part in content:
        kind = part["type"]
        if kind in IMAGE_PARTS:
            url = image_url(part)
            total += image_tokens(url if url and is_data_url(url) else None)   # by URL: its size is unknown
        elif kind == "file":
            total += document_tokens(file_data(part))
        else:  # text, input_audio, anything else: the bytes of its JSON
            total += len(orjson.dumps(part))
    return total


def output_token_bound(body: dict[str, Any], model_max_output: int | None, context_length: int | None) -> int:
    """The most tokens the request can produce: its own limit, capped by the model's when known.
    With neither, a default; the request's own limit is never cut below what it asked for,
    since the provider may honour it."""
    requested: int | None = body.get("max_completion_tokens") or body.get("max_tokens")
    ceiling = model_max_output or context_length
    if requested:
        per_choice = min(requested, ceiling) if ceiling else requested
    else:
        per_choice = ceiling or DEFAULT_OUTPUT_TOKENS
    choices: int = body.get("n") or 1
    return per_choice * choices

