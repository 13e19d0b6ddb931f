"""POST /v1/messages and /v1/messages/count_tokens: Anthropic's Messages request
(anthropic-sdk-python's `types/message_create_params.py`, `message_count_tokens_params.py` and
the block, tool and config types they name), plus `temperature`, `top_p` and `top_k` from the API
reference and AllToken's routing preferences.

Blocks, sources and tools of kinds not listed here (server tools, their results, newer kinds) pass
untouched to Anthropic models; the translation for other models refuses them (400).
"""

from alltoken.http.v1.schemas.chat import INT32, ROUTING
from alltoken.http.v1.schemas.json_schema import JSON_SCHEMA
from alltoken.http.v1.schemas.nodes import Arr, Bool, Either, Int, Node, Num, Obj, Str, Tagged

CACHE_CONTROL = Obj({"type": Str(enum=("ephemeral",)), "ttl": Str(enum=("5m", "1h"))}, required=("type",))
TEXT_BLOCK = Obj({"text": Str(), "cache_control": CACHE_CONTROL, "citations": Arr(Obj())}, required=("text",))
TEXT_BLOCKS = Arr(Tagged("type", {"text": TEXT_BLOCK}, what="a text block"))
IMAGE_SOURCE = Tagged("type", {
    "base64": Obj({"data": Str(), "media_type": Str(enum=("image/jpeg", "image/png", "image/gif", "image/webp"))},
                  required=("data", "media_type")),
    "url": Obj({"url": Str(min_length=1)}, required=("url",)),
    "file": Obj({"file_id": Str()}, required=("file_id",)),
}, what="an image source object (base64, url or file)")
IMAGE_BLOCK = Obj({"source": IMAGE_SOURCE, "cache_control": CACHE_CONTROL}, required=("source",))
DOCUMENT_BLOCK = Obj({
    "source": Tagged("type", {
        "base64": Obj({"data": Str(), "media_type": Str()}, required=("data", "media_type")),
        "text": Obj({"data": Str(), "media_type": Str()}, required=("data",)),
        "url": Obj({"url": Str()}, required=("url",)),
        "file": Obj({"file_id": Str()}, required=("file_id",)),
        "content": Obj({"content": Either(Str(), Arr(Obj()))}, required=("content",)),
    }, others=Obj(), what="a document source object"),
    "title": Str(), "context": Str(), "citations": Obj(), "cache_control": CACHE_CONTROL,
}, required=("source",))
SEARCH_RESULT_BLOCK = Obj({"content": TEXT_BLOCKS, "source": Str(), "title": Str(), "cache_control": CACHE_CONTROL},
                          required=("content", "source", "title"))
TOOL_RESULT_BLOCK = Obj({
    "tool_use_id": Str(),
    "content": Either(Str(), Arr(Tagged("type", {"text": TEXT_BLOCK, "image": IMAGE_BLOCK, "document": DOCUMENT_BLOCK,
                                                 "search_result": SEARCH_RESULT_BLOCK}, others=Obj())),
                      what="a string or an array of blocks"),
    "is_error": Bool(), "cache_control": CACHE_CONTROL,
}, required=("tool_use_id",))
BLOCK = Tagged("type", {
    "text": TEXT_BLOCK,
    "image": IMAGE_BLOCK,
    "document": DOCUMENT_BLOCK,
    "search_result": SEARCH_RESULT_BLOCK,
    "thinking": Obj({"thinking": Str(), "signature": Str()}, required=("thinking", "signature")),
    "redacted_thinking": Obj({"data": Str()}, required=("data",)),
    "tool_use": Obj({"id": Str(), "name": Str(), "input": Obj(), "cache_control": CACHE_CONTROL},
                    required=("id", "name", "input")),
    "tool_result": TOOL_RESULT_BLOCK,
}, others=Obj(), what="a content block object")
CONTENT = Either(Str(), Arr(BLOCK), what="a string or an array of content blocks")
SYSTEM = Either(Str(), TEXT_BLOCKS, what="a string or an array of text blocks")
MESSAGE = Tagged("role", {
    "user": Obj({"content": CONTENT}, required=("content",)),
    "assistant": Obj({"content": CONTENT}, required=("content",)),
    "system": Obj({"content": SYSTEM}, required=("content",)),
}, what="a message object with a 'role' and 'content'")

TOOL = Tagged("type", {
    "custom": Obj({"name": Str(min_length=1), "description": Str(), "input_schema": JSON_SCHEMA,
                   "cache_control": CACHE_CONTROL, "strict": Bool(), "input_examples": Arr(Obj())},
                  required=("name", "input_schema")),
}, others=Obj({"name": Str()}), default="custom", what="a tool object")
_PARALLEL: dict[str, Node] = {"disable_parallel_tool_use": Bool()}
TOOL_CHOICE = Tagged("type", {
    "auto": Obj(_PARALLEL), "any": Obj(_PARALLEL), "none": Obj(),
    "tool": Obj({"name": Str(), **_PARALLEL}, required=("name",)),
}, what="an object with a 'type' (auto, any, tool or none)")
THINKING = Tagged("type", {
    "enabled": Obj({"budget_tokens": Int(1, INT32), "display": Str()}, required=("budget_tokens",)),
    "disabled": Obj(),
    "adaptive": Obj({"display": Str()}),
}, others=Obj(), what="an object with a 'type' (enabled, disabled or adaptive)")
OUTPUT_CONFIG = Obj({
    "effort": Str(enum=("low", "medium", "high", "xhigh", "max")),
    "format": Obj({"type": Str(enum=("json_schema",)), "schema": JSON_SCHEMA}, required=("type", "schema")),
})

_SHARED = {
    "model": Str(min_length=1, what="a model id such as 'anthropic/claude-sonnet-4-5' (see GET /v1/models)"),
    "messages": Arr(MESSAGE, min_items=1, what="a non-empty array of messages"),
    "system": SYSTEM,
    "tools": Arr(TOOL),
    "tool_choice": TOOL_CHOICE,
    "thinking": THINKING,
    "output_config": OUTPUT_CONFIG,
    "cache_control": CACHE_CONTROL,
    "speed": Str(enum=("standard", "fast")),
    **ROUTING,
}
MESSAGES_REQUEST = Obj({
    **_SHARED,
    "max_tokens": Int(1, INT32),
    "stop_sequences": Arr(Str()),
    "stream": Bool(),
    "temperature": Num(0, 1), "top_p": Num(0, 1), "top_k": Int(0),
    "metadata": Obj({"user_id": Str(nullable=True)}),
    "service_tier": Str(enum=("auto", "standard_only")),
    "container": Either(Str(), Obj()),
    "inference_geo": Str(),
}, required=("model", "max_tokens", "messages"), what="a JSON object")
COUNT_TOKENS_REQUEST = Obj(_SHARED, required=("model", "messages"), what="a JSON object")
