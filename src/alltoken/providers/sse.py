"""Server-sent events: decode an upstream byte stream, encode our own events."""

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

import orjson


@dataclass(slots=True)
class SseEvent:
    event: str | None
    data: str


async def read_events(lines: AsyncIterable[bytes]) -> AsyncIterator[SseEvent]:
    """Yield one event per blank-line-terminated block (per the WHATWG event-stream rules)."""
    event_name: str | None = None
    data: list[str] = []
    async for raw in lines:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield SseEvent(event_name, "\n".join(data))
            event_name, data = None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event_name = value
    if data:
        yield SseEvent(event_name, "\n".join(data))


def encode_data(payload: dict) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


DONE = b"data: [DONE]\n\n"
