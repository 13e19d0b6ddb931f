"""POST /v1/images/generations (JSON), /edits and /variations (multipart form fields): OpenAI's Images
requests (openai-python's `types/image_generate_params.py`, `image_edit_params.py`,
`image_create_variation_params.py`). The files of an edit or variation are checked by
http/v1/image_uploads.py.

Form fields arrive as text: `form_values` reads the numbers and booleans the schema expects out of
them (for checking only; the fields go upstream as they were sent). `moderation` is any short
string, passed untouched (the provider judges the level, terms section 4.7), and `size` and
`quality` are the provider's to judge too.
"""

import re

from alltoken.http.v1.schemas.nodes import Bool, Int, Num, Obj, Str

MAX_IMAGES_PER_REQUEST = 10
MAX_MODERATION_CHARS = 100
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_BOOLEANS = {"true": True, "True": True, "1": True, "false": False, "False": False, "0": False}

_COMMON = {
    "model": Str(min_length=1, what="an image model id such as 'openai/gpt-image-2' (GET /v1/models lists them, "
                                    "kind 'image')"),
    "n": Int(1, MAX_IMAGES_PER_REQUEST),
    "size": Str(), "response_format": Str(enum=("url", "b64_json")), "user": Str(),
}
_MADE = {
    **_COMMON,
    "prompt": Str(min_length=1, what="a text description of the image you want"),
    "quality": Str(), "background": Str(enum=("transparent", "opaque", "auto")),
    "output_compression": Int(0, 100), "output_format": Str(enum=("png", "webp", "jpeg", "gif", "svg")),
    "partial_images": Int(0, 3), "stream": Bool(), "safety_identifier": Str(),
    "moderation": Str(max_length=MAX_MODERATION_CHARS, what="a string such as 'auto' or 'low' (at most "
                                                            f"{MAX_MODERATION_CHARS} characters)"),
}

IMAGE_REQUESTS = {
    "generations": Obj({**_MADE, "style": Str(enum=("vivid", "natural"))}, required=("model", "prompt"),
                       what="a JSON object"),
    "edits": Obj({**_MADE, "input_fidelity": Str(enum=("high", "low"))}, required=("model", "prompt")),
    "variations": Obj(_COMMON, required=("model",)),
}


def form_values(request: Obj, fields: dict[str, str]) -> dict:
    """A form's text fields with the values the schema takes as numbers or booleans read as such
    (a value that does not read stays text, and the check names it)."""
    return {name: _read(request.fields.get(name), text) for name, text in fields.items()}


def _read(node, text: str):
    if isinstance(node, Int) and _INTEGER.fullmatch(text):
        return int(text)
    if isinstance(node, Num):
        try:
            return float(text)
        except ValueError:
            return text
    if isinstance(node, Bool):
        return _BOOLEANS.get(text, text)
    return text
