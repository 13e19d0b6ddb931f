"""Checks on a Chat Completions request: the fields we rely on, with errors that name the field.

Everything else (temperature ranges, tool schemas, ...) is the upstream's to judge; its 400
comes back to the caller with its message.
"""

from .errors import bad_request

ROLES = frozenset(("system", "developer", "user", "assistant", "tool", "function"))


def validate_chat(body: dict) -> None:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad_request("'model' is required: a model id such as 'openai/gpt-4o-mini' (see GET /v1/models)",
                          param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' is required: a non-empty array of messages", param="messages")
    for index, message in enumerate(messages):
        _validate_message(index, message)
    _optional(body, "stream", bool, "a boolean")
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (not _is_int(value) or value < 1):
            raise bad_request(f"'{name}' must be a positive integer", param=name)
    n = body.get("n")
    if n is not None and (not _is_int(n) or not 1 <= n <= 128):
        raise bad_request("'n' must be an integer from 1 to 128", param="n")
    _optional(body, "tools", list, "an array of tools")
    _optional(body, "stream_options", dict, "an object")


def _validate_message(index: int, message) -> None:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise bad_request(f"{where} must be an object with 'role' and 'content'", param=where)
    role = message.get("role")
    if role not in ROLES:
        raise bad_request(f"{where}.role must be one of {', '.join(sorted(ROLES))}", param=f"{where}.role")
    content = message.get("content")
    if content is None and role not in ("assistant", "function"):
        raise bad_request(f"{where}.content is required for role '{role}'", param=f"{where}.content")
    if content is not None and not isinstance(content, (str, list)):
        raise bad_request(f"{where}.content must be a string or an array of content parts", param=f"{where}.content")
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise bad_request(f"{where}.tool_call_id is required for role 'tool'", param=f"{where}.tool_call_id")


def _optional(body: dict, name: str, kind: type, described: str) -> None:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise bad_request(f"'{name}' must be {described}", param=name)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


MAX_EMBEDDING_INPUTS = 2048


def validate_embeddings(body: dict) -> None:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad_request("'model' is required: an embedding model id (see GET /v1/models)", param="model")
    if not _is_embedding_input(body.get("input")):
        raise bad_request("'input' is required: a string, an array of strings, an array of token ids, or an array "
                          f"of token-id arrays (at most {MAX_EMBEDDING_INPUTS} items, none empty)", param="input")
    if body.get("encoding_format", "float") not in ("float", "base64"):
        raise bad_request("'encoding_format' must be 'float' or 'base64'", param="encoding_format")
    dimensions = body.get("dimensions")
    if dimensions is not None and (not _is_int(dimensions) or dimensions < 1):
        raise bad_request("'dimensions' must be a positive integer", param="dimensions")


def _is_embedding_input(value) -> bool:
    if isinstance(value, str):
        return bool(value)
    if not isinstance(value, list) or not 0 < len(value) <= MAX_EMBEDDING_INPUTS:
        return False
    if all(isinstance(item, str) and item for item in value):
        return True
    if all(_is_int(item) for item in value):
        return True
    return all(isinstance(item, list) and item and all(_is_int(t) for t in item) for item in value)
