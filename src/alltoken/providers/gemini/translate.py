"""OpenAI Chat Completions <-> Gemini generateContent, and OpenAI embeddings <-> Gemini
batchEmbedContents, as pure functions (no I/O).

Request (OpenAI -> Gemini), checked against its schema already (http/v1/schemas/chat.py), so its
types are not checked again here:
- system and developer messages, wherever they stand, become `systemInstruction` parts in order;
  user -> role "user", assistant -> role "model"; messages left with no content are dropped.
- Images: data URLs become `inlineData`; https URLs must be fetched first (the provider does it
  with image_fetch, so the gateway's SSRF guard applies) and are passed in as `images`.
- Assistant tool calls -> `functionCall` parts; tool results -> `functionResponse` parts in one
  user turn per run of results, named after the earlier assistant call with the same id (Gemini
  matches results by name, so ids are not sent). A result that is a JSON object is sent as is,
  anything else as {"output": text}; images in a result follow it as `inlineData` parts.
- Gemini rarely returns call ids, so ours are `call_<n>`, numbered on from the calls already in
  the conversation (stable and unique within it). A call's thought signature, which Gemini needs
  back on the next turn, rides in the id after THOUGHT_SEPARATOR (base64url). For Gemini 3 and
  later, a replayed call without one gets Google's documented bypass value instead.
- tools -> `functionDeclarations`, JSON Schema narrowed to Gemini's OpenAPI subset (see
  `gemini_schema`); tool_choice auto/none/required/named -> mode AUTO/NONE/ANY(+allowedFunctionNames).
  parallel_tool_calls has no Gemini equivalent and is ignored.
- response_format json_object/json_schema -> responseMimeType application/json (+responseSchema);
  stop -> stopSequences; max_completion_tokens/max_tokens -> maxOutputTokens; n -> candidateCount.
- reasoning_effort (or OpenRouter-style `reasoning: {effort, max_tokens, exclude}`) ->
  thinkingConfig.thinkingBudget per THINKING_BUDGETS, with includeThoughts so the thoughts come
  back as `reasoning_content`. Without either, the model's own default applies and thoughts are
  not requested. Gemini 2.5 Pro cannot turn thinking off: "none" there is Gemini's 400.

Response (Gemini -> OpenAI): thought parts -> reasoning_content, text -> content, functionCall ->
tool_calls; finishReason STOP -> stop (tool_calls when the candidate called tools), MAX_TOKENS ->
length, the safety, recitation and blocklist reasons -> content_filter; usage: prompt =
promptTokenCount (+ toolUsePromptTokenCount), completion = candidates + thoughts, reasoning =
thoughtsTokenCount, cached = cachedContentTokenCount.

Embeddings: each input text is one request of a batchEmbedContents call (at most
EMBED_BATCH_LIMIT a call); `dimensions` -> outputDimensionality (Gemini truncates the vector;
gemini-embedding-001 does not re-normalize a truncated one, and it is passed on as sent).
Usage: the answer's usageMetadata.promptTokenCount; when it is missing, an estimate of
four characters a token (`rough_tokens`) is billed (countTokens would cost a further call, and its
rate limit, per batch).
"""

import base64
import binascii
import re
import time
from collections.abc import Mapping
from typing import Any

import orjson

from alltoken.errors import UpstreamError
from alltoken.providers.failures import Failure, upstream_failure
from alltoken.providers.openai_request import (
    DataUrlError,
    call_arguments,
    image_url,
    is_data_url,
    read_data_url,
    rough_tokens,
)

THOUGHT_SEPARATOR = "__thought__"
# Google's documented value for replayed Gemini 3 calls whose signature was lost.
SKIP_SIGNATURE = "skip_thought_signature_validator"

THINKING_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576}

_FINISH_REASONS = {
    "STOP": "stop", "MAX_TOKENS": "length",
    "SAFETY": "content_filter", "RECITATION": "content_filter", "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter", "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter", "IMAGE_RECITATION": "content_filter",
}
_TOOL_CHOICE_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mp3"}
_GEMINI_MAJOR = re.compile(r"(?:models/)?gemini-(\d+)")


def invalid(message: str, param: str | None = None) -> UpstreamError:
    return UpstreamError(400, message, type="invalid_request_error", code="invalid_request", param=param)


# ---------------------------------------------------------------------------------------- request

def image_urls(body: dict) -> list[str]:
    """Image URLs that are not data URLs: the provider fetches these before translating."""
    urls = []
    for message in body.get("messages") or []:
        content = message.get("content")
        for part in content if isinstance(content, list) else ():
            url = image_url(part) if part["type"] == "image_url" else None
            if url and not is_data_url(url) and url not in urls:
                urls.append(url)
    return urls


def to_gemini_request(body: dict, images: Mapping[str, tuple[str, bytes]] | None = None) -> dict:
    """The native request for an OpenAI-shape body; `images` holds the fetched https images."""
    model = body.get("model") or ""
    system, contents = _contents(body["messages"], images or {}, _needs_signatures(model))
    if not contents:
        raise invalid("Gemini needs at least one user or assistant message with content", param="messages")
    request: dict = {"contents": contents}
    if system:
        request["systemInstruction"] = {"parts": system}
    tools = _tools(body.get("tools"))
    if tools:
        request["tools"] = tools
    tool_config = _tool_config(body.get("tool_choice"))
    if tool_config:
        request["toolConfig"] = tool_config
    config = _generation_config(body)
    if config:
        request["generationConfig"] = config
    return request


def first_call_number(body: dict) -> int:
    """Where numbering of new call ids starts: after the calls already in the conversation."""
    return sum(len(m.get("tool_calls") or []) for m in body.get("messages") or [] if m.get("role") == "assistant")


def _contents(messages: list, images: Mapping, needs_signatures: bool) -> tuple[list, list]:
    system: list[dict] = []
    contents: list[dict] = []
    call_names: dict[str, str] = {}
    results_open = False     # the last content is a turn of tool results that more results may join
    for index, message in enumerate(messages):
        role = message.get("role")
        where = f"messages[{index}]"
        if role in ("system", "developer"):
            system.extend(_text_parts(message.get("content"), where))
            continue
        if role in ("tool", "function"):
            parts = _tool_result_parts(message, call_names, images, where)
            if results_open:
                contents[-1]["parts"].extend(parts)
            else:
                contents.append({"role": "user", "parts": parts})
            results_open = True
            continue
        results_open = False
        if role == "assistant":
            parts = _assistant_parts(message, call_names, needs_signatures, where)
            native_role = "model"
        else:
            parts = _user_parts(message.get("content"), images, where)
            native_role = "user"
        if parts:
            contents.append({"role": native_role, "parts": parts})
    return system, contents


def _text_parts(content, where: str) -> list[dict]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts = []
    for number, part in enumerate(content):
        if part["type"] not in ("text", "refusal"):
            raise invalid(f"{where}.content[{number}]: only text parts are allowed here", param=where)
        text = part[part["type"]]
        if text:
            parts.append({"text": text})
    return parts


def _user_parts(content, images: Mapping, where: str) -> list[dict]:
    if content is None or isinstance(content, str):
        return _text_parts(content, where)
    parts = []
    for number, part in enumerate(content):
        native = _content_part(part, images, f"{where}.content[{number}]")
        if native:
            parts.append(native)
    return parts


def _content_part(part: dict, images: Mapping, where: str) -> dict | None:
    kind = part["type"]
    if kind == "text":
        return {"text": part["text"]} if part["text"] else None
    if kind == "image_url":
        return _image_part(image_url(part), images, where)
    if kind == "input_audio":
        audio = part["input_audio"]
        return {"inlineData": {"mimeType": _AUDIO_TYPES[audio["format"]], "data": audio["data"]}}
    if kind == "file":
        file_data = part["file"].get("file_data")
        if file_data is None:
            raise invalid(f"{where}: Gemini takes files only inline, as a data URL in file.file_data", param=where)
        return _data_url_part(file_data, where)
    raise invalid(f"{where}: content part type {kind!r} is not supported for Gemini", param=where)


def _image_part(url: str | None, images: Mapping, where: str) -> dict:
    if not url:
        raise invalid(f"{where}: image_url.url is required", param=where)
    if is_data_url(url):
        return _data_url_part(url, where)
    if url not in images:
        raise invalid(f"{where}: image URL was not fetched", param=where)
    mime, data = images[url]
    return {"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode("ascii")}}


def _data_url_part(url: str, where: str) -> dict:
    try:
        data_url = read_data_url(url)
    except DataUrlError as exc:
        raise invalid(f"{where}: {exc}", param=where) from None
    return {"inlineData": {"mimeType": data_url.mime, "data": data_url.data}}


def _assistant_parts(message: dict, call_names: dict, needs_signatures: bool, where: str) -> list[dict]:
    parts = _text_parts(message.get("content"), where)
    calls = list(message.get("tool_calls") or [])
    if message.get("function_call"):                      # the legacy single-call form
        calls.append({"id": None, "function": message["function_call"]})
    signed = False
    for number, call in enumerate(calls):
        function = call.get("function") or {}
        name = function.get("name")
        if not name:
            raise invalid(f"{where}.tool_calls[{number}].function.name is required", param=where)
        if call.get("id"):
            call_names[call["id"]] = name
        part: dict[str, Any] = {"functionCall": {"name": name,
                                                 "args": _arguments(function.get("arguments"), where, number)}}
        signature = _signature_from_id(call.get("id"))
        if signature or (needs_signatures and not signed):
            part["thoughtSignature"] = signature or SKIP_SIGNATURE
            signed = True
        parts.append(part)
    return parts


def _arguments(arguments: object, where: str, number: int) -> dict:
    try:
        return call_arguments(arguments)
    except ValueError as exc:
        raise invalid(f"{where}.tool_calls[{number}].function.arguments {exc}", param=where) from None


def _tool_result_parts(message: dict, call_names: dict, images: Mapping, where: str) -> list[dict]:
    if message.get("role") == "function":
        name = message.get("name")
    else:
        name = call_names.get(message.get("tool_call_id"))
    if not name:
        raise invalid(f"{where}: tool_call_id does not match any earlier assistant tool call", param=where)
    content = message.get("content")
    text_pieces, extra = [], []
    for number, part in enumerate(content if isinstance(content, list) else [content]):
        if isinstance(part, str) or part is None:
            text_pieces.append(part or "")
        elif part["type"] == "text":
            text_pieces.append(part["text"])
        elif native := _content_part(part, images, f"{where}.content[{number}]"):
            extra.append(native)
    return [{"functionResponse": {"name": name, "response": _result_object("".join(text_pieces))}}, *extra]


def _result_object(text: str) -> dict:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    return value if isinstance(value, dict) else {"output": text}


def _tools(tools) -> list[dict]:
    declarations = []
    for number, tool in enumerate(tools or []):
        if tool["type"] != "function":
            raise invalid(f"tools[{number}]: only function tools are supported for Gemini", param="tools")
        function = tool["function"]
        if not function["name"]:
            raise invalid(f"tools[{number}].function.name is required", param="tools")
        declaration = {"name": function["name"]}
        if function.get("description"):
            declaration["description"] = function["description"]
        parameters = function.get("parameters")
        if parameters and (parameters.get("properties") or parameters.get("type") not in (None, "object")):
            declaration["parameters"] = gemini_schema(parameters)
        declarations.append(declaration)
    return [{"functionDeclarations": declarations}] if declarations else []


def _tool_config(choice: str | dict | None) -> dict | None:
    if choice is None:
        return None
    if isinstance(choice, str):
        return {"functionCallingConfig": {"mode": _TOOL_CHOICE_MODES[choice]}}
    if choice["type"] != "function":
        raise invalid(f"tool_choice of type {choice['type']!r} is not supported for Gemini", param="tool_choice")
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice["function"]["name"]]}}


def _generation_config(body: dict) -> dict:
    config = {}
    for ours, theirs in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK"), ("seed", "seed"),
                         ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty")):
        if body.get(ours) is not None:
            config[theirs] = body[ours]
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens:
        config["maxOutputTokens"] = max_tokens
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    if (body.get("n") or 1) > 1:
        config["candidateCount"] = body["n"]
    config.update(_response_format(body.get("response_format")))
    thinking = _thinking_config(body)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def _response_format(response_format: dict | None) -> dict:
    if not response_format or response_format["type"] == "text":
        return {}
    kind = response_format["type"]
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        schema = response_format["json_schema"].get("schema")
        native: dict[str, Any] = {"responseMimeType": "application/json"}
        if schema:
            native["responseSchema"] = gemini_schema(schema)
        return native
    raise invalid(f"response_format type {kind!r} is not supported for Gemini", param="response_format")


def _thinking_config(body: dict) -> dict | None:
    reasoning = body.get("reasoning") or {}
    effort = body.get("reasoning_effort") or reasoning.get("effort")
    budget = reasoning.get("max_tokens")
    if reasoning.get("enabled") is False:
        effort = "none"
    if effort is None and budget is None:
        return None
    if budget is None:
        if effort not in THINKING_BUDGETS:
            raise invalid(f"reasoning_effort must be one of {', '.join(THINKING_BUDGETS)}", param="reasoning_effort")
        budget = THINKING_BUDGETS[effort]
    return {"thinkingBudget": budget, "includeThoughts": budget != 0 and not reasoning.get("exclude")}


def _needs_signatures(model: str) -> bool:
    match = _GEMINI_MAJOR.match(model)
    return match is not None and int(match[1]) >= 3


# ------------------------------------------------------------------------------------- JSON Schema

# Gemini's Schema is an OpenAPI 3.0 subset. Kept: the keywords below. Changed: "type" is upper-cased;
# a type list with "null" becomes nullable; oneOf becomes anyOf; allOf is merged; local $ref
# ($defs/definitions) is inlined (recursion is cut at _MAX_REF_DEPTH to a bare OBJECT); a string
# const becomes a one-value enum; enums of non-strings are dropped (Gemini enums are strings);
# "format" is kept only where Gemini supports it. Dropped: every other keyword, notably
# additionalProperties, $schema, $id, $defs, $comment, const (non-string), not, if/then/else,
# patternProperties, exclusiveMinimum/Maximum, multipleOf, uniqueItems, default, examples, strict.
_SCHEMA_KEYWORDS = frozenset(("type", "format", "title", "description", "nullable", "enum", "items", "properties",
                              "required", "anyOf", "minItems", "maxItems", "minProperties", "maxProperties",
                              "minLength", "maxLength", "pattern", "minimum", "maximum", "propertyOrdering"))
_FORMATS = {"STRING": {"enum", "date-time"}, "INTEGER": {"int32", "int64"}, "NUMBER": {"float", "double"}}
_MAX_REF_DEPTH = 8


def gemini_schema(schema: dict) -> dict:
    definitions = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}
    return _schema(schema, definitions, 0)


def _schema(schema, definitions: dict, depth: int) -> dict:
    if not isinstance(schema, dict):
        return {}
    schema, depth = _resolved(schema, definitions, depth)
    if schema is None:
        return {"type": "OBJECT"}
    out: dict = {}
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    if "null" in types:
        out["nullable"] = True
        types.remove("null")
    variants = [*(schema.get("anyOf") or []), *(schema.get("oneOf") or [])]
    if len(types) > 1:
        variants = [{**schema, "type": t, "anyOf": None, "oneOf": None} for t in types]
    elif types:
        out["type"] = types[0].upper()
    if variants:
        _add_variants(out, variants, definitions, depth)
    for key, value in schema.items():
        if key not in _SCHEMA_KEYWORDS or key in ("type", "anyOf", "nullable") or value is None:
            continue
        if key == "properties":
            out[key] = {name: _schema(sub, definitions, depth) for name, sub in value.items()}
        elif key == "items":
            out[key] = _schema(value, definitions, depth)
        else:
            out[key] = value
    if schema.get("nullable"):
        out["nullable"] = True
    _narrow(out, schema)
    return out


def _resolved(schema: dict, definitions: dict, depth: int) -> tuple[dict | None, int]:
    """The schema with local $refs inlined and allOf merged, and the $ref depth reached so far;
    None where recursion is cut."""
    while "$ref" in schema:
        if depth >= _MAX_REF_DEPTH:
            return None, depth
        target = definitions.get(schema["$ref"].rsplit("/", 1)[-1])
        schema = {**(target if isinstance(target, dict) else {}), **{k: v for k, v in schema.items() if k != "$ref"}}
        depth += 1
    if schema.get("allOf"):
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = (_resolved(part, definitions, depth)[0] or {}) if isinstance(part, dict) else {}
            merged["properties"] = {**(merged.get("properties") or {}), **(part.get("properties") or {})}
            merged["required"] = [*(merged.get("required") or []), *(part.get("required") or [])]
            merged.update({k: v for k, v in part.items() if k not in ("properties", "required") and k not in merged})
        schema = {k: v for k, v in merged.items() if v not in ({}, [])}
    return schema, depth


def _add_variants(out: dict, variants: list, definitions: dict, depth: int) -> None:
    native = []
    for variant in variants:
        if not isinstance(variant, dict):       # a boolean schema: Gemini has no equivalent
            continue
        if variant.get("type") == "null":
            out["nullable"] = True
        else:
            native.append(_schema({k: v for k, v in variant.items() if v is not None}, definitions, depth))
    if len(native) == 1:
        out.update({k: v for k, v in native[0].items() if k not in out})
    elif native:
        out["anyOf"] = native


def _narrow(out: dict, source: dict) -> None:
    if isinstance(source.get("const"), str):
        out["enum"] = [source["const"]]
    if "enum" in out:
        if None in out["enum"]:
            out["nullable"] = True
            out["enum"] = [v for v in out["enum"] if v is not None]
        if out["enum"] and all(isinstance(v, str) for v in out["enum"]):
            out.setdefault("type", "STRING")
            out["format"] = "enum"
        else:
            del out["enum"]
    if "format" in out and out["format"] not in _FORMATS.get(str(out.get("type")), ()):
        del out["format"]
    if "required" in out:
        out["required"] = [name for name in out["required"] if name in (out.get("properties") or {})]
        if not out["required"]:
            del out["required"]


# --------------------------------------------------------------------------------------- response

def to_openai_completion(data: dict, model: str, call_offset: int = 0) -> dict:
    """A chat.completion object for a GenerateContentResponse."""
    candidates = sorted(data.get("candidates") or [], key=lambda c: c.get("index", 0))
    choices = [_choice(candidate, number, call_offset) for number, candidate in enumerate(candidates)]
    if not choices:       # the prompt itself was blocked: no candidates, only promptFeedback
        choices = [{"index": 0, "message": {"role": "assistant", "content": None}, "finish_reason": "content_filter"}]
    return {"id": f"chatcmpl-{data.get('responseId') or int(time.time() * 1000)}", "object": "chat.completion",
            "created": int(time.time()), "model": model, "choices": choices,
            "usage": openai_usage(data.get("usageMetadata"))}


def _choice(candidate: dict, number: int, call_offset: int) -> dict:
    text: list[str] = []
    thoughts: list[str] = []
    calls: list[dict] = []
    for part in (candidate.get("content") or {}).get("parts") or []:
        if "functionCall" in part:
            calls.append(tool_call(part, call_offset + len(calls)))
        elif part.get("thought"):
            thoughts.append(part.get("text") or "")
        elif part.get("text"):
            text.append(part["text"])
    message: dict = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if thoughts:
        message["reasoning_content"] = "".join(thoughts)
    if calls:
        message["tool_calls"] = calls
    return {"index": number, "message": message,
            "finish_reason": finish_reason(candidate.get("finishReason"), bool(calls)) or "stop"}


def tool_call(part: dict, number: int) -> dict:
    call = part["functionCall"]
    call_id = call.get("id") or f"call_{number}"
    signature = part.get("thoughtSignature")
    if signature:
        call_id += THOUGHT_SEPARATOR + _base64url(signature)
    return {"id": call_id, "type": "function",
            "function": {"name": call.get("name", ""), "arguments": orjson.dumps(call.get("args") or {}).decode()}}


def finish_reason(reason: str | None, called_tools: bool) -> str | None:
    if not reason or reason == "FINISH_REASON_UNSPECIFIED":
        return None
    if called_tools and reason == "STOP":
        return "tool_calls"
    return _FINISH_REASONS.get(reason, "stop")


def openai_usage(meta: dict | None) -> dict:
    meta = meta or {}
    prompt = _count(meta.get("promptTokenCount")) + _count(meta.get("toolUsePromptTokenCount"))
    reasoning = _count(meta.get("thoughtsTokenCount"))
    completion = _count(meta.get("candidatesTokenCount")) + reasoning
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": _count(meta.get("cachedContentTokenCount"))},
            "completion_tokens_details": {"reasoning_tokens": reasoning}}


def _count(value) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _base64url(signature: str) -> str:
    return signature.replace("+", "-").replace("/", "_").rstrip("=")


def _signature_from_id(call_id) -> str | None:
    if not isinstance(call_id, str) or THOUGHT_SEPARATOR not in call_id:
        return None
    encoded = call_id.split(THOUGHT_SEPARATOR, 1)[1]
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(raw).decode("ascii")


# ----------------------------------------------------------------------------------------- stream

class StreamTranslator:
    """Turns the GenerateContentResponse events of one stream into OpenAI chunks.

    Parts arrive as increments (text is not cumulative); function calls arrive whole, so each one
    becomes a first delta (id, name, arguments "") and one delta with all its arguments. Usage is
    cumulative on every event: the last one counts."""

    def __init__(self, model: str, call_offset: int = 0):
        self._model = model
        self._call_offset = call_offset
        self._id = f"chatcmpl-{int(time.time() * 1000)}"
        self._created = int(time.time())
        self._opened: set[int] = set()          # candidates whose first delta (with the role) went out
        self._calls: dict[int, int] = {}        # tool calls so far, per candidate
        self._finished = False
        self._usage: dict | None = None

    def chunks(self, event: dict) -> list[dict]:
        if event.get("responseId"):
            self._id = f"chatcmpl-{event['responseId']}"
        if event.get("usageMetadata"):
            self._usage = event["usageMetadata"]
        candidates = event.get("candidates") or []
        if not candidates and (event.get("promptFeedback") or {}).get("blockReason"):
            self._finished = True
            return [self._chunk(0, {}, "content_filter")]
        out = []
        for candidate in candidates:
            out.extend(self._candidate_chunks(candidate))
        return out

    def final_chunks(self) -> list[dict]:
        """The closing usage chunk; raises if the stream ended before any candidate finished."""
        if not self._finished:
            raise upstream_failure(Failure.STREAM_ERROR, "gemini",
                                   message="the Gemini stream ended before the answer was finished")
        if self._usage is None:
            return []
        return [{"id": self._id, "object": "chat.completion.chunk", "created": self._created, "model": self._model,
                 "choices": [], "usage": openai_usage(self._usage)}]

    def _candidate_chunks(self, candidate: dict) -> list[dict]:
        index = candidate.get("index", 0)
        out = []
        for part in (candidate.get("content") or {}).get("parts") or []:
            if "functionCall" in part:
                out.extend(self._call_chunks(index, part))
            elif part.get("text"):
                key = "reasoning_content" if part.get("thought") else "content"
                out.append(self._chunk(index, {key: part["text"]}))
        reason = finish_reason(candidate.get("finishReason"), self._calls.get(index, 0) > 0)
        if reason:
            self._finished = True
            out.append(self._chunk(index, {}, reason))
        return out

    def _call_chunks(self, index: int, part: dict) -> list[dict]:
        position = self._calls.get(index, 0)
        self._calls[index] = position + 1
        call = tool_call(part, self._call_offset + position)
        first = {"index": position, "id": call["id"], "type": "function",
                 "function": {"name": call["function"]["name"], "arguments": ""}}
        rest = {"index": position, "function": {"arguments": call["function"]["arguments"]}}
        return [self._chunk(index, {"tool_calls": [first]}), self._chunk(index, {"tool_calls": [rest]})]

    def _chunk(self, index: int, delta: dict, reason: str | None = None) -> dict:
        if index not in self._opened:
            self._opened.add(index)
            delta = {"role": "assistant", **({"content": ""} if not delta else {}), **delta}
        return {"id": self._id, "object": "chat.completion.chunk", "created": self._created, "model": self._model,
                "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}]}


# ------------------------------------------------------------------------------------- embeddings

EMBED_BATCH_LIMIT = 100      # batchEmbedContents: "at most 100 requests can be in one batch"


def to_batch_embed_request(model: str, texts: list[str], dimensions: int | None) -> dict:
    """One batchEmbedContents body: each text its own request, naming the model as the URL does."""
    name = "models/" + model.removeprefix("models/")
    reduced = {"outputDimensionality": dimensions} if dimensions else {}
    return {"requests": [{"model": name, "content": {"parts": [{"text": text}]}, **reduced} for text in texts]}


def embedding_vectors(data: dict) -> list[list[float]] | None:
    """The `values` of each embedding, in request order; None if the answer has another shape."""
    embeddings = data.get("embeddings")
    if not isinstance(embeddings, list):
        return None
    vectors = [e.get("values") if isinstance(e, dict) else None for e in embeddings]
    return [v for v in vectors if isinstance(v, list)] if all(isinstance(v, list) for v in vectors) else None


def embedding_prompt_tokens(data: dict, texts: list[str]) -> int:
    """usageMetadata.promptTokenCount when Gemini sends it (Google's API reference does not list it, but the
    API has been sending it); otherwise an estimate of four characters a token, which is then
    what gets billed."""
    meta = data.get("usageMetadata")
    reported = _count(meta.get("promptTokenCount")) if isinstance(meta, dict) else 0
    return reported or sum(rough_tokens(len(text)) for text in texts)
