"""POST /v1/chat/completions: OpenAI's Chat Completions request (openai-python's
`types/chat/completion_create_params.py` and the message, content-part and tool types it names),
plus the fields AllToken and OpenRouter-style clients add (routing preferences, `reasoning`,
`top_k`, thinking blocks sent back on assistant messages).

Where the translators deliberately accept more than OpenAI does, so does this schema: tool calls
and tools' `arguments` as an object, tool calls without an id, `image_url` as a bare string.
Content parts, tools and response formats of a kind OpenAI does not define pass untouched (an
OpenAI-compatible server may know them; a translator refuses what its provider cannot take).
"""

from alltoken.http.v1.schemas.json_schema import JSON_SCHEMA
from alltoken.http.v1.schemas.nodes import Arr, Bool, Either, Int, Num, Obj, Str, Tagged
from alltoken.routing.preferences import SORTS

INT32 = 2**31 - 1           # token counts are 32-bit integers in OpenAI's API
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")

_BREAKPOINT = Obj({"mode": Str(enum=("explicit",)), "ttl": Str()}, required=("mode",))
_CACHE = {"cache_control": Obj(), "prompt_cache_breakpoint": _BREAKPOINT}   # Anthropic-style and OpenAI's own
TEXT_PART = Obj({"text": Str(), **_CACHE}, required=("text",))
IMAGE_URL = Either(Obj({"url": Str(), "detail": Str(enum=("auto", "low", "high", "original"))}, required=("url",)),
                   Str(), what="an object with a 'url'")
PART = Tagged("type", {
    "text": TEXT_PART,
    "refusal": Obj({"refusal": Str()}, required=("refusal",)),
    "image_url": Obj({"image_url": IMAGE_URL, **_CACHE}, required=("image_url",)),
    "input_audio": Obj({"input_audio": Obj({"data": Str(), "format": Str(enum=("wav", "mp3"))},
                                           required=("data", "format")), **_CACHE}, required=("input_audio",)),
    "file": Obj({"file": Obj({"file_data": Str(), "file_id": Str(), "filename": Str()}), **_CACHE},
                required=("file",)),
}, others=Obj(), what="a content part object")
CONTENT = Either(Str(), Arr(PART), what="a string or an array of content parts")
TEXT_CONTENT = Either(Str(), Arr(Tagged("type", {"text": TEXT_PART})), what="a string or an array of text parts")

FUNCTION_CALL = Obj({"name": Str(), "arguments": Either(Str(), Obj())}, required=("name",))
TOOL_CALL = Tagged("type", {
    "function": Obj({"id": Str(), "function": FUNCTION_CALL}, required=("function",)),
    "custom": Obj({"id": Str(), "custom": Obj({"name": Str(), "input": Str()}, required=("name", "input"))},
                  required=("custom",)),
}, default="function", what="a tool call object")
THINKING_BLOCK = Tagged("type", {
    "thinking": Obj({"thinking": Str(), "signature": Str()}),
    "redacted_thinking": Obj({"data": Str()}),
}, what="a thinking block")

_NAMED = {"content": CONTENT, "name": Str()}
MESSAGE = Tagged("role", {
    "system": Obj(_NAMED, required=("content",)),
    "developer": Obj(_NAMED, required=("content",)),
    "user": Obj(_NAMED, required=("content",)),
    "assistant": Obj({**_NAMED, "refusal": Str(), "audio": Obj({"id": Str()}, required=("id",)),
                      "tool_calls": Arr(TOOL_CALL), "function_call": FUNCTION_CALL,
                      "thinking_blocks": Arr(THINKING_BLOCK)}),
    "tool": Obj({"content": CONTENT, "tool_call_id": Str()}, required=("content", "tool_call_id")),
    "function": Obj({"content": Str(nullable=True), "name": Str()}, required=("name",)),
}, what="a message object with a 'role' and 'content'")

FUNCTION = Obj({"name": Str(), "description": Str(), "parameters": JSON_SCHEMA, "strict": Bool()},
               required=("name",))
TOOL = Tagged("type", {
    "function": Obj({"function": FUNCTION}, required=("function",)),
    "custom": Obj({"custom": Obj({"name": Str(), "description": Str(), "format": Obj()}, required=("name",))},
                  required=("custom",)),
}, others=Obj(), what="a tool object")
_NAMED_CHOICE = {
    "function": Obj({"function": Obj({"name": Str()}, required=("name",))}, required=("function",)),
    "custom": Obj({"custom": Obj({"name": Str()}, required=("name",))}, required=("custom",)),
}
TOOL_CHOICE = Either(
    Str(enum=("none", "auto", "required")),
    Tagged("type", {**_NAMED_CHOICE, "allowed_tools": Obj({"allowed_tools": Obj({
        "mode": Str(enum=("auto", "required")), "tools": Arr(Tagged("type", _NAMED_CHOICE))},
        required=("mode", "tools"))}, required=("allowed_tools",))}),
    what="'none', 'auto', 'required' or a tool choice object")
RESPONSE_FORMAT = Tagged("type", {
    "text": Obj(),
    "json_object": Obj(),
    "json_schema": Obj({"json_schema": Obj({"name": Str(), "description": Str(), "schema": JSON_SCHEMA,
                                            "strict": Bool()}, required=("name",))}, required=("json_schema",)),
}, others=Obj(), what="an object with a 'type' (text, json_object or json_schema)")

# OpenRouter-style routing preferences (routing/preferences.py reads their values).
PROVIDER_PREFERENCES = Obj({
    "order": Arr(Str(min_length=1)), "only": Arr(Str(min_length=1)), "ignore": Arr(Str(min_length=1)),
    "allow_fallbacks": Bool(), "sort": Str(enum=SORTS),
    "max_price": Obj({"prompt": Either(Num(), Str()), "completion": Either(Num(), Str())}),
    "data_collection": Str(enum=("allow", "deny")), "require_parameters": Bool(),
}, what="an object of routing preferences")
ROUTING = {"provider": PROVIDER_PREFERENCES, "models": Arr(Str(min_length=1)), "session_id": Str()}

CHAT_REQUEST = Obj({
    "model": Str(min_length=1, what="a model id such as 'openai/gpt-4o-mini' (see GET /v1/models)"),
    "messages": Arr(MESSAGE, min_items=1, what="a non-empty array of messages"),
    "audio": Obj({"format": Str(enum=("wav", "aac", "mp3", "flac", "opus", "pcm16")),
                  "voice": Either(Str(), Obj({"id": Str()}, required=("id",)))}, required=("format", "voice")),
    "frequency_penalty": Num(-2, 2), "presence_penalty": Num(-2, 2),
    "function_call": Either(Str(enum=("none", "auto")), Obj({"name": Str()}, required=("name",))),
    "functions": Arr(FUNCTION),
    "logit_bias": Obj(others=Int(-100, 100), what="an object of token ids to biases"),
    "logprobs": Bool(), "top_logprobs": Int(0, 20),
    "max_completion_tokens": Int(1, INT32), "max_tokens": Int(1, INT32),
    "metadata": Obj(others=Str(), what="an object of strings"),
    "modalities": Arr(Str(enum=("text", "audio"))),
    "n": Int(1, 128),
    "parallel_tool_calls": Bool(),
    "prediction": Obj({"type": Str(enum=("content",)), "content": TEXT_CONTENT}, required=("type", "content")),
    "prompt_cache_key": Str(), "prompt_cache_retention": Str(enum=("in_memory", "24h")),
    "reasoning_effort": Str(enum=REASONING_EFFORTS),
    "reasoning": Obj({"effort": Str(enum=REASONING_EFFORTS), "max_tokens": Int(1, INT32), "exclude": Bool(),
                      "enabled": Bool()}),
    "response_format": RESPONSE_FORMAT,
    "safety_identifier": Str(), "user": Str(),
    "seed": Int(),
    "service_tier": Str(enum=("auto", "default", "flex", "scale", "priority", "fast")),
    "stop": Either(Str(), Arr(Str()), what="a string or an array of strings"),
    "store": Bool(),
    "stream": Bool(),
    "stream_options": Obj({"include_usage": Bool(), "include_obfuscation": Bool()}),
    "temperature": Num(0, 2), "top_p": Num(0, 1), "top_k": Int(),
    "tool_choice": TOOL_CHOICE,
    "tools": Arr(TOOL),
    "verbosity": Str(enum=("low", "medium", "high")),
    "web_search_options": Obj({"search_context_size": Str(enum=("low", "medium", "high")),
                               "user_location": Obj({"type": Str(enum=("approximate",)),
                                                     "approximate": Obj(others=Str())})}),
    **ROUTING,
}, required=("model", "messages"), what="a JSON object")
