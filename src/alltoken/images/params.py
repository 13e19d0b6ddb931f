"""The parameters of an image request that AllToken itself acts on, checked with errors that name
the field. Everything else is the provider's to judge; all of it goes upstream as sent."""

from dataclasses import dataclass

from ..gateway.errors import bad_request

MAX_IMAGES_PER_REQUEST = 10
MAX_MODERATION_CHARS = 100
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
    def parse(cls, endpoint: str, params: dict) -> "ImageRequest":
        """`params` is a JSON body (generations) or a form's text fields, all strings (edits, variations)."""
        model = params.get("model")
        if not isinstance(model, str) or not model.strip():
            raise bad_request("'model' is required: an image model id such as 'openai/gpt-image-2' "
                              "(GET /v1/models lists them, kind 'image')", param="model")
        prompt = params.get("prompt")
        if endpoint != "variations" and (not isinstance(prompt, str) or not prompt.strip()):
            raise bad_request("'prompt' is required: a text description of the image you want", param="prompt")
        moderation = params.get("moderation", _UNSET)
        n, stream = _count(params.get("n")), params.get("stream") in (True, "true", "True", "1")
        if stream and n > 1:
            raise bad_request("a streamed request makes one image: set 'n' to 1, or leave out 'stream'", param="n")
        return cls(model=model, n=n, size=_text(params, "size"), quality=_text(params, "quality"),
                   prompt_bytes=len(prompt.encode()) if isinstance(prompt, str) else 0,
                   moderation_sent=moderation is not _UNSET, moderation=_moderation(moderation),
                   wants_url=params.get("response_format") == "url", stream=stream)


def _count(value) -> int:
    if value is None:
        return 1
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_IMAGES_PER_REQUEST:
        raise bad_request(f"'n' must be an integer from 1 to {MAX_IMAGES_PER_REQUEST}", param="n")
    return value


def _text(params: dict, name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"'{name}' must be a string", param=name)
    return value


def _moderation(value) -> str | None:
    """A string (any: it goes upstream untouched, and the provider judges it) or null."""
    if value is _UNSET or value is None:
        return None
    if not isinstance(value, str):
        raise bad_request("'moderation' must be a string, e.g. 'auto' or 'low'", param="moderation")
    if len(value) > MAX_MODERATION_CHARS:
        raise bad_request(f"'moderation' is longer than {MAX_MODERATION_CHARS} characters; it is a level such as "
                          "'auto' or 'low'", param="moderation")
    return value
