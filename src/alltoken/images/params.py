"""The parameters of an image request that AllToken itself acts on, read from a request already
checked against its schema (http/v1/schemas/images.py). All of them go upstream as sent."""

from dataclasses import dataclass

from alltoken.errors import InvalidRequest

_UNSET = object()


@dataclass(frozen=True, slots=True)
class ImageRequest:
    model: str
    n: int
    size: str | None
    quality: str | None
    prompt_bytes: int
    moderation_sent: bool       # the client sent the field (null included)
    moderation: str | None      # its value as sent (None: null or not sent)
    wants_url: bool             # response_format=url
    stream: bool                # partial images as server-sent events

    @classmethod
    def parse(cls, params: dict) -> "ImageRequest":
        """`params` as checked: a form's numbers and booleans already read as such."""
        n, stream = params.get("n") or 1, params.get("stream") is True
        if stream and n > 1:
            raise InvalidRequest("a streamed request makes one image: set 'n' to 1, or leave out 'stream'", param="n")
        moderation = params.get("moderation", _UNSET)
        prompt = params.get("prompt") or ""
        return cls(model=params["model"], n=n, size=params.get("size"), quality=params.get("quality"),
                   prompt_bytes=len(prompt.encode()), moderation_sent=moderation is not _UNSET,
                   moderation=None if moderation is _UNSET else moderation,
                   wants_url=params.get("response_format") == "url", stream=stream)
