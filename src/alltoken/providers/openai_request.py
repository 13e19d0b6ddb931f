"""One reading of an OpenAI chat request, shared by every translator and by the estimates: content
parts, data URLs, tool-call ids, and token bounds that need no tokenizer.

The request has been checked against its schema (http/v1/schemas/chat.py) before any of this runs.
"""

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

# ---------------------------------------------------------------------------------------- content parts


def image_url(part: dict[str, Any]) -> str | None:
    """The URL of an image part (`image_url` as an object or a bare string; `input_image` too)."""
    reference = part.get("image_url")
    url = reference.get("url") if isinstance(reference, dict) else reference
    return url if isinstance(url, str) else None


def file_data(part: dict[str, Any]) -> str | None:
    """The inline data (a data URL) of a `file` part; None for a file id."""
    file = part.get("file")
    data = file.get("file_data") if isinstance(file, dict) else None
    return data if isinstance(data, str) else None


def texts(content: object) -> list[str]:
    """The text of each text part of a message's content (a string content is one text)."""
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [part.get("text") or "" for part in content if isinstance(part, dict) and part.get("type") == "text"]


def call_arguments(arguments: object) -> dict[str, Any]:
    """A tool call's `function.arguments` (JSON text, or the object some clients send) as an object;
    none or "" is {}. Raises ValueError saying what is wrong (the caller adds where)."""
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):
        return arguments
    try:
        value = orjson.loads(arguments) if isinstance(arguments, (str, bytes)) else None
    except orjson.JSONDecodeError:
        raise ValueError("is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value


# -------------------------------------------------------------------------------------------- data URLs

# RFC 2397, base64 only (every upstream takes base64): a type/subtype, optional attribute=value
# parameters, then ";base64" last. Whitespace inside the data is allowed (RFC 2045 line breaks) and removed.
_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[\w.+-]+=[^;,]*)*;base64,(?P<data>.*)", re.DOTALL)


class DataUrlError(ValueError):
    """A data URL no upstream can take; the message says why (the caller adds where)."""


@dataclass(frozen=True, slots=True)
class DataUrl:
    mime: str      # lower case
    data: str      # base64, checked, without whitespace


def is_data_url(url: str) -> bool:
    return url.startswith("data:")


def read_data_url(url: str) -> DataUrl:
    match = _DATA_URL.fullmatch(url)
    if not match:
        raise DataUrlError("expected a base64 data URL (data:<type>;base64,...)")
    data = "".join(match["data"].split())
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise DataUrlError("the data URL is not valid base64") from None
    return DataUrl(match["mime"].lower(), data)


def data_url(mime: str, data: str) -> str:
    """A data URL for base64 `data` of type `mime`."""
    return f"data:{mime};base64,{data}"


def base64_payload(data: str) -> str:
    """The base64 part of a data URL, or the string itself (already bare base64), unchecked."""
    return data.partition(",")[2] if is_data_url(data) else data


# --------------------------------------------------------------------------------------- tool-call ids


class ToolCallIds:
    """One conversation's tool-call ids as an upstream accepts them, the same on a call and on the
    result that answers it. `clean` rewrites a client's id into the upstream's alphabet; a call
    without an id gets `synthesize(message index, call index)`, stable as the conversation grows.
    A result whose id matches no call of the latest assistant turn (or none at all) answers the
    oldest call of that turn still unanswered; one that names an earlier call keeps its id."""

    def __init__(self, clean: Callable[[str], str], synthesize: Callable[[int, int], str]):
        self._clean = clean
        self._synthesize = synthesize
        self._open: list[str] = []
        self._seen: set[str] = set()

    def for_calls(self, message_index: int, call_ids: list[str | None]) -> list[str]:
        """Ids for the calls of one assistant message (an assistant message without calls passes [])."""
        self._open = [self._clean(raw) if raw else self._synthesize(message_index, number)
                      for number, raw in enumerate(call_ids)]
        self._seen.update(self._open)
        return list(self._open)

    def for_result(self, raw: str | None) -> str | None:
        """The id of the call a tool result answers; None when there is no call it could answer."""
        tool_id = self._clean(raw) if raw else ""
        if tool_id in self._open:
            self._open.remove(tool_id)
            return tool_id
        if tool_id and tool_id in self._seen:
            return tool_id
        if self._open:
            return self._open.pop(0)
        return tool_id or None


# ---------------------------------------------------------------------------------------- token bounds


def utf8_token_bound(text: str) -> int:
    """No tokenizer makes more tokens than the UTF-8 bytes of a text."""
    return len(text.encode())


def rough_tokens(chars: int) -> int:
    """About four characters a token (the rule of thumb OpenAI and Google give for their tokenizers):
    for what cannot be counted, such as a stream the client abandoned."""
    return (chars + 3) // 4
