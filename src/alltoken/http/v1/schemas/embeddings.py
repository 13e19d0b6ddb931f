"""POST /v1/embeddings: OpenAI's Embeddings request (openai-python's `types/embedding_create_params.py`).

`input` is a string, or an array of one kind of item: strings, token ids, or token-id arrays (the
providers count and batch by that kind). `dimensions` is bounded here by the largest model's; the
model's own limit is checked once the model is known (http/v1/embeddings.py)."""

from alltoken.http.v1.schemas.nodes import Arr, Either, Int, Node, Obj, SchemaError, Str

MAX_INPUTS = 2048                   # items in one request, as OpenAI allows
MAX_DIMENSIONS = 8192               # where the catalog knows no limit (docs/api.md)


class OneKindArr(Arr):
    """An array whose items are all of one JSON kind."""

    __slots__ = ()

    def check(self, value) -> None:
        super().check(value)
        if value and any(type(item) is not type(value[0]) for item in value):
            raise SchemaError(f"must be {self.what}, not a mix of them")


INPUT = Either(
    Str(min_length=1),
    OneKindArr(Either(Str(min_length=1), Int(0), Arr(Int(0), min_items=1)), min_items=1, max_items=MAX_INPUTS,
               what=f"an array of 1 to {MAX_INPUTS} non-empty strings, token ids or token-id arrays"),
    what=f"a non-empty string, or an array of 1 to {MAX_INPUTS} non-empty strings, token ids or token-id arrays")

EMBEDDINGS_REQUEST: Node = Obj({
    "model": Str(min_length=1, what="an embedding model id (see GET /v1/models)"),
    "input": INPUT,
    "dimensions": Int(1, MAX_DIMENSIONS),
    "encoding_format": Str(enum=("float", "base64")),
    "user": Str(),
}, required=("model", "input"), what="a JSON object")
