"""A fake Gemini API (generativelanguage v1beta) that checks requests as strictly as the real one
and answers in its wire format (Google's Gemini API reference).

Checks: the x-goog-api-key header (a wrong key is Google's 400 API_KEY_INVALID, a missing one 403),
`alt=sse` on streams, known top-level and generationConfig fields, non-empty `contents` with roles
user/model only, one data field per part, valid base64 in inlineData, schema keywords Gemini
rejects (additionalProperties, $schema, ...), as many function responses as the calls they answer,
and, for gemini-3 models, a thoughtSignature on the first function call of each model turn.
batchEmbedContents: at most 100 requests, each naming the model of the URL, with known fields,
non-empty text parts and an outputDimensionality from 1 to EMBEDDING_SIZE; it answers
`embedding_for(text, size)` vectors and, as the API does although its reference omits it,
usageMetadata with `embedding_tokens(text)` summed.

Tests script it with `fake.plan(...)`; with nothing queued it answers text, or a call of the first
declared function when tools are offered and the last turn is not a function response.
Everything it received is kept in `fake.requests` (with `fake.paths` and `fake.headers`).
"""

import asyncio
import base64
import binascii
import hashlib
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from .scripted import ScriptedFake

API_KEY = "fake-gemini-key"
SIGNATURE = base64.b64encode(b"\x01signature/+bytes\xff").decode()

_TOP_LEVEL = {"contents", "systemInstruction", "generationConfig", "tools", "toolConfig", "safetySettings",
              "cachedContent"}
_GENERATION = {"temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "candidateCount", "seed",
               "presencePenalty", "frequencyPenalty", "responseMimeType", "responseSchema", "responseJsonSchema",
               "thinkingConfig", "responseLogprobs", "logprobs"}
_SCHEMA = {"type", "format", "title", "description", "nullable", "enum", "items", "properties", "required", "anyOf",
           "minItems", "maxItems", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "minimum",
           "maximum", "propertyOrdering", "default", "example"}
_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}
_PART_FIELDS = {"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
                "codeExecutionResult"}
_EMBED_FIELDS = {"model", "content", "taskType", "title", "outputDimensionality"}
_TASK_TYPES = {"TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY",
               "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"}
EMBED_BATCH_LIMIT = 100
EMBEDDING_SIZE = 3072


@dataclass
class Plan:
    text: str = "Hello from the fake Gemini."
    thoughts: str = ""                       # sent first, as thought parts
    calls: list | None = None                # [(name, args)]: function calls instead of text
    call_ids: bool = False                   # give the calls ids (the Developer API rarely does)
    signature: str | None = None             # thoughtSignature on the first call
    prompt_tokens: int = 17
    candidates_tokens: int = 9
    thoughts_tokens: int = 0
    cached_tokens: int = 0
    finish_reason: str = "STOP"
    block_reason: str | None = None          # prompt blocked: promptFeedback, no candidates
    status: int = 200
    rpc_status: str = "INTERNAL"
    message: str = "fake failure"
    details: list = field(default_factory=list)
    headers: dict = field(default_factory=dict)
    fail_mid_stream: bool = False            # a `data:` error event after the first chunk
    bare_error_mid_stream: bool = False      # the same, as multi-line JSON with no `data:` prefix
    malformed_event: bool = False            # a `data:` line that is not JSON after the first chunk
    cut_stream: bool = False                 # close the stream before the finishing chunk
    chunk_delay: float = 0.0
    embedding_usage: bool = True             # usageMetadata on a batchEmbedContents answer


class FakeGemini(ScriptedFake[Plan]):
    def __init__(self):
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1beta/models/{target}", self._handle)
        super().__init__(app, Plan)
        self.paths: list[str] = []   # with the query string, as `alt=sse` matters

    def reset(self) -> None:
        super().reset()
        self.paths.clear()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["target"].partition(":")
        key = request.headers.get("x-goog-api-key")
        if key is None:
            return error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without "
                         "established identity). Please use API Key or other form of API consumer identity.")
        if key != API_KEY:
            return error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                         [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}])
        if method not in ("generateContent", "streamGenerateContent", "batchEmbedContents"):
            return error(404, "NOT_FOUND", f"Method {method!r} not found.")
        streaming = method == "streamGenerateContent"
        if streaming and request.query.get("alt") != "sse":
            return error(400, "INVALID_ARGUMENT", "this fake only speaks alt=sse")
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        embedding = method == "batchEmbedContents"
        problem = check_batch_embed(model, body) if embedding else check_request(model, body)
        if problem:
            return error(400, "INVALID_ARGUMENT", problem)
        self._record(request, body)
        self.paths.append(request.path_qs)
        plan = self._take_plan()
        if plan.status != 200:
            return error(plan.status, plan.rpc_status, plan.message, plan.details, plan.headers)
        if embedding:
            return _json(_embed_response(body, plan))
        if plan.calls is None and _wants_call(body):
            plan = Plan(**{**plan.__dict__, "calls": [(_first_tool(body), {"city": "Paris"})]})
        if streaming:
            return await _stream(request, model, plan)
        return _json(_response(model, plan, _parts(plan), plan.finish_reason, _usage(plan)))


def check_request(model: str, body) -> str | None:
    if not isinstance(body, dict):
        return "Invalid JSON payload received. Expected an object."
    unknown = set(body) - _TOP_LEVEL
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}": Cannot find field.'
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    for number, content in enumerate(contents):
        problem = _check_content(content, number, contents, model)
        if problem:
            return problem
    unknown = set(body.get("generationConfig") or {}) - _GENERATION
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}" at \'generation_config\'.'
    schema = (body.get("generationConfig") or {}).get("responseSchema")
    problem = _check_schema(schema, "generation_config.response_schema") if schema else None
    for tool in body.get("tools") or []:
        for declaration in tool.get("functionDeclarations") or []:
            if "parameters" in declaration:
                problem = problem or _check_schema(declaration["parameters"], "tools.function_declarations.parameters")
    return problem


def check_batch_embed(model: str, body) -> str | None:
    if not isinstance(body, dict) or set(body) - {"requests"}:
        return "Invalid JSON payload received. A BatchEmbedContentsRequest takes only `requests`."
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        return "* BatchEmbedContentsRequest.requests: requests is not specified"
    if len(requests) > EMBED_BATCH_LIMIT:
        return f"* BatchEmbedContentsRequest.requests: at most {EMBED_BATCH_LIMIT} requests can be in one batch"
    for number, embed in enumerate(requests):
        problem = _check_embed_request(embed, f"requests[{number}]", model)
        if problem:
            return problem
    return None


def _check_embed_request(embed, where: str, model: str) -> str | None:
    if not isinstance(embed, dict):
        return f"Invalid value at '{where}': expected an EmbedContentRequest"
    unknown = set(embed) - _EMBED_FIELDS
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}" at \'{where}\': Cannot find field.'
    if embed.get("model") != f"models/{model}":
        return f"* BatchEmbedContentsRequest.{where}.model: must be models/{model}, the model of the batch"
    content = embed.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list) or not parts or not all(
            isinstance(p, dict) and set(p) == {"text"} and isinstance(p["text"], str) and p["text"] for p in parts):
        return f"* BatchEmbedContentsRequest.{where}.content: needs parts with non-empty text"
    size = embed.get("outputDimensionality", EMBEDDING_SIZE)
    if type(size) is not int or not 1 <= size <= EMBEDDING_SIZE:
        return f"* BatchEmbedContentsRequest.{where}.output_dimensionality: must be from 1 to {EMBEDDING_SIZE}"
    if "taskType" in embed and embed["taskType"] not in _TASK_TYPES:
        return f"Invalid value at '{where}.task_type', {embed['taskType']!r}"
    return None


def _check_content(content: dict, number: int, contents: list, model: str) -> str | None:
    if content.get("role") not in ("user", "model"):
        return f"Please use a valid role: user, model. (contents[{number}].role = {content.get('role')!r})"
    parts = content.get("parts")
    if not isinstance(parts, list) or not parts:
        return f"* GenerateContentRequest.contents[{number}].parts: contents.parts must not be empty."
    for part in parts:
        fields = set(part) & _PART_FIELDS
        if len(fields) != 1:
            return f"contents[{number}]: each part needs exactly one data field, got {sorted(fields)}"
        if "text" in part and not part["text"]:
            return "Unable to submit request because it has an empty text parameter."
        inline = part.get("inlineData")
        if inline is not None:
            try:
                base64.b64decode(inline["data"], validate=True)
            except (KeyError, binascii.Error, TypeError):
                return f"contents[{number}]: inlineData needs mimeType and base64 data"
            if "mimeType" not in inline:
                return f"contents[{number}]: inlineData needs mimeType"
        response = part.get("functionResponse")
        if response is not None and (not response.get("name") or not isinstance(response.get("response"), dict)):
            return f"contents[{number}]: functionResponse needs a name and a response object"
    calls = [p for p in parts if "functionCall" in p]
    if calls and model.startswith("gemini-3") and "thoughtSignature" not in calls[0]:
        return (f"Function call `{calls[0]['functionCall']['name']}` in the {number + 1}. content block is "
                "missing a `thought_signature`.")
    answers = sum("functionResponse" in p for p in parts)
    if answers:
        previous = contents[number - 1]["parts"] if number else []
        if answers != sum("functionCall" in p for p in previous):
            return ("Please ensure that the number of function response parts is equal to the number of "
                    "function call parts of the function call turn.")
    return None


def _check_schema(schema, where: str) -> str | None:
    if not isinstance(schema, dict):
        return f"{where}: a schema must be an object"
    unknown = set(schema) - _SCHEMA
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}" at \'{where}\': Cannot find field.'
    if "type" in schema and schema["type"] not in _TYPES:
        return f"Invalid value at '{where}.type', {schema['type']!r}"
    children = [*(schema.get("properties") or {}).values(), *(schema.get("anyOf") or [])]
    if "items" in schema:
        children.append(schema["items"])
    for child in children:
        problem = _check_schema(child, where)
        if problem:
            return problem
    return None


def _wants_call(body: dict) -> bool:
    mode = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode")
    last = body["contents"][-1]["parts"]
    return bool(body.get("tools")) and mode != "NONE" and not any("functionResponse" in p for p in last)


def _first_tool(body: dict) -> str:
    allowed = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("allowedFunctionNames")
    return allowed[0] if allowed else body["tools"][0]["functionDeclarations"][0]["name"]


def _parts(plan: Plan) -> list[dict]:
    parts = [{"text": plan.thoughts, "thought": True}] if plan.thoughts else []
    if plan.calls:
        for number, (name, args) in enumerate(plan.calls):
            call = {"name": name, "args": args, **({"id": f"fc-{number}"} if plan.call_ids else {})}
            signed = plan.signature and number == 0
            parts.append({"functionCall": call, **({"thoughtSignature": plan.signature} if signed else {})})
    else:
        parts.append({"text": plan.text})
    return parts


def _usage(plan: Plan) -> dict:
    usage = {"promptTokenCount": plan.prompt_tokens, "candidatesTokenCount": plan.candidates_tokens,
             "totalTokenCount": plan.prompt_tokens + plan.candidates_tokens + plan.thoughts_tokens,
             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": plan.prompt_tokens}]}
    if plan.thoughts_tokens:
        usage["thoughtsTokenCount"] = plan.thoughts_tokens
    if plan.cached_tokens:
        usage["cachedContentTokenCount"] = plan.cached_tokens
    return usage


def embedding_for(text: str, size: int) -> list[float]:
    """A vector that depends on the text alone, as a model's does."""
    raw = hashlib.shake_256(text.encode()).digest(size * 2)
    return [int.from_bytes(raw[i:i + 2], "little") / 65536 - 0.5 for i in range(0, len(raw), 2)]


def embedding_tokens(text: str) -> int:
    return len(text.split())


def _embed_response(body: dict, plan: Plan) -> dict:
    texts = ["".join(p["text"] for p in r["content"]["parts"]) for r in body["requests"]]
    sizes = [r.get("outputDimensionality", EMBEDDING_SIZE) for r in body["requests"]]
    answer = {"embeddings": [{"values": embedding_for(text, size)} for text, size in zip(texts, sizes)]}
    if plan.embedding_usage:
        tokens = sum(embedding_tokens(text) for text in texts)
        answer["usageMetadata"] = {"promptTokenCount": tokens,
                                   "promptTokenDetails": [{"modality": "TEXT", "tokenCount": tokens}]}
    return answer


def _response(model: str, plan: Plan, parts: list, finish: str | None, usage: dict) -> dict:
    base = {"usageMetadata": usage, "modelVersion": model, "responseId": "fakeResponseId1"}
    if plan.block_reason:
        return {"promptFeedback": {"blockReason": plan.block_reason, "safetyRatings": []}, **base}
    candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], **base}


async def _stream(request: web.Request, model: str, plan: Plan) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    parts = _parts(plan)
    if not plan.calls:           # text streams in word pieces; calls arrive whole
        words = plan.text.split(" ")
        parts = parts[:-1] + [{"text": w if i == 0 else " " + w} for i, w in enumerate(words)]
    partial_usage = {"promptTokenCount": plan.prompt_tokens, "totalTokenCount": plan.prompt_tokens}
    for number, part in enumerate(parts):
        if plan.chunk_delay:
            await asyncio.sleep(plan.chunk_delay)
        last = number == len(parts) - 1
        if last and plan.cut_stream:
            break
        event = _response(model, plan, [part], plan.finish_reason if last else None,
                          _usage(plan) if last else partial_usage)
        await response.write(b"data: " + orjson.dumps(event) + b"\r\n\r\n")
        if number == 0 and await _fail(response, plan):
            return response
        if plan.block_reason:
            break
    await response.write_eof()
    return response


async def _fail(response: web.StreamResponse, plan: Plan) -> bool:
    failure = {"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}}
    if plan.fail_mid_stream:
        await response.write(b"data: " + orjson.dumps(failure) + b"\r\n\r\n")
    elif plan.bare_error_mid_stream:
        await response.write(orjson.dumps(failure, option=orjson.OPT_INDENT_2) + b"\n")
    elif plan.malformed_event:
        await response.write(b'data: {"candidates": [\r\n\r\n')
    else:
        return False
    await response.write_eof()
    return True


def error(status: int, rpc_status: str, message: str, details: list | None = None,
          headers: dict | None = None) -> web.Response:
    body = {"error": {"code": status, "message": message, "status": rpc_status, "details": details or []}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)


def _json(payload: dict) -> web.Response:
    return web.Response(body=orjson.dumps(payload), content_type="application/json")
