"""Every data-plane request body is checked here, once, before any routing or translation, against
its endpoint's schema (http/v1/schemas/): a wrong type or an out-of-range value is a 400 that names
the field's path in `param`, in the endpoint's own error shape (the handler renders it)."""

from alltoken.http.errors import bad_request
from alltoken.http.v1.schemas.chat import CHAT_REQUEST
from alltoken.http.v1.schemas.embeddings import EMBEDDINGS_REQUEST
from alltoken.http.v1.schemas.images import IMAGE_REQUESTS, form_values
from alltoken.http.v1.schemas.messages import COUNT_TOKENS_REQUEST, MESSAGES_REQUEST
from alltoken.http.v1.schemas.nodes import Node, SchemaError, validate


def validate_chat(body: dict) -> None:
    _validate(CHAT_REQUEST, body)


def validate_embeddings(body: dict) -> None:
    _validate(EMBEDDINGS_REQUEST, body)


def validate_messages(body: dict) -> None:
    _validate(MESSAGES_REQUEST, body)


def validate_count_tokens(body: dict) -> None:
    _validate(COUNT_TOKENS_REQUEST, body)


def validate_images(endpoint: str, params: dict, form: bool = False) -> dict:
    """The checked parameters, numbers and booleans of a form's text fields read as such."""
    schema = IMAGE_REQUESTS[endpoint]
    checked = form_values(schema, params) if form else params
    _validate(schema, checked)
    return checked


def _validate(schema: Node, body: dict) -> None:
    try:
        validate(schema, body)
    except SchemaError as exc:
        raise bad_request(exc.message, param=exc.param) from None
