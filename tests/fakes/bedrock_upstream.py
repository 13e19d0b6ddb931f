"""A fake AWS Bedrock Runtime (Converse, ConverseStream, and InvokeModel for Titan Text Embeddings)
that checks requests as strictly as the real one: a SigV4 signature recomputed with botocore from
the known test credentials (a wrong key, a tampered body or a singly-encoded model id fails with
403, as on AWS), the Converse body rules (alternating roles, non-blank text, toolConfig whenever
tool blocks appear, ...), the Titan body rules (a non-blank inputText of at most 50,000
characters, dimensions 256/512/1024, no other fields, and none but inputText for V1), and answers
in the documented shapes: JSON for Converse and InvokeModel, the binary AWS event stream for
ConverseStream (AWS's Amazon Bedrock Runtime API reference). Titan answers
`embedding_for(text, dimensions)` and counts `embedding_tokens(text)`.

Tests script it with `fake.plan(...)`; everything it accepted is kept in `fake.requests`.
"""

import asyncio
import base64
import binascii
import datetime
import hashlib
import hmac
import math
import re
import struct
import zlib
from dataclasses import dataclass, field
from urllib.parse import unquote

import orjson
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .scripted import ScriptedFake

ACCESS_KEY_ID = "AKIAFAKEBEDROCK00001"
SECRET_ACCESS_KEY = "fake/Bedrock+Secret/Key0000000000000000"
SESSION_TOKEN = "fake-session-token"
REGION = "us-east-1"
MAX_CLOCK_SKEW = datetime.timedelta(minutes=15)

ERROR_STATUS = {"ValidationException": 400, "ServiceQuotaExceededException": 400, "AccessDeniedException": 403,
                "ResourceNotFoundException": 404, "ModelTimeoutException": 408, "ModelErrorException": 424,
                "ThrottlingException": 429, "ModelNotReadyException": 429, "InternalServerException": 500,
                "ServiceUnavailableException": 503}

_TOP_LEVEL = {"messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig", "additionalModelRequestFields",
              "promptVariables", "additionalModelResponseFieldPaths", "requestMetadata", "performanceConfig",
              "outputConfig", "serviceTier"}
_BLOCKS = {"text", "image", "document", "video", "toolUse", "toolResult", "guardContent", "reasoningContent",
           "cachePoint"}
_RESULT_BLOCKS = {"text", "json", "image", "document"}
_INFERENCE = {"maxTokens", "temperature", "topP", "stopSequences"}
_TITAN_V2_FIELDS = {"inputText", "dimensions", "normalize", "embeddingTypes"}
TITAN_DIMENSIONS = (256, 512, 1024)
TITAN_MAX_CHARACTERS = 50_000
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<credential>[^,]+), ?SignedHeaders=(?P<signed>[^,]+), "
                   r"?Signature=(?P<signature>[0-9a-f]{64})$")


@dataclass
class ToolCall:
    name: str
    input: dict
    id: str = "tooluse_fake1"


@dataclass
class Plan:
    text: str = "Hello from the fake Bedrock."
    reasoning: str = ""
    tool_calls: list[ToolCall] | None = None   # None: call the first tool when tools are offered and unanswered
    stop_reason: str | None = None             # None: end_turn, or tool_use when calling tools
    input_tokens: int = 25
    output_tokens: int = 9
    cache_read: int | None = None
    cache_write: int | None = None
    error: str | None = None                   # an exception name from ERROR_STATUS, answered as HTTP error
    error_message: str = "fake failure"
    stream_exception: str | None = None        # e.g. "modelStreamErrorException", sent after the first text delta
    exception_first: str | None = None         # an exception frame before any event (HTTP 200)
    corrupt_frame: bool = False                # a frame with a bad CRC after the first text delta
    end_early: bool = False                    # stop after the first text delta, no messageStop
    headers: dict = field(default_factory=dict)


class FakeBedrock(ScriptedFake[Plan]):
    def __init__(self):
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/{tail:.*}", self._handle)
        super().__init__(app, Plan)
        self.model_ids: list[str] = []      # decoded from the path, as Bedrock reads it
        self.operations: list[str] = []     # converse, converse-stream or invoke

    def reset(self) -> None:
        super().reset()
        self.model_ids.clear()
        self.operations.clear()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        refusal = verify_signature(request.method, request.raw_path, dict(request.headers), raw)
        if refusal:
            return aws_error(*refusal)
        route = re.fullmatch(r"/model/(?P<model>[^/]+)/(?P<op>converse|converse-stream|invoke)", request.raw_path)
        if not route:
            return aws_error("UnknownOperationException", "Unknown operation", 404)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return aws_error("SerializationException", "Malformed request body", 400)
        model_id, invoke = unquote(route["model"]), route["op"] == "invoke"
        problem = validate_titan(model_id, body) if invoke else validate_converse(body)
        if problem:
            return aws_error("ValidationException", problem)
        self._record(request, body)
        self.model_ids.append(model_id)
        self.operations.append(route["op"])
        plan = self._take_plan()
        if plan.error:
            return aws_error(plan.error, plan.error_message, headers=plan.headers)
        if invoke:
            return _titan_answer(body)
        content, stop_reason = _answer(body, plan)
        if route["op"] == "converse-stream":
            return await _stream(request, content, stop_reason, plan)
        return web.Response(body=orjson.dumps({
            "output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop_reason,
            "usage": _usage(plan), "metrics": {"latencyMs": 42}}), content_type="application/json",
            headers={"x-amzn-RequestId": "fake-request-id"})


# ---------------------------------------------------------------- SigV4


def verify_signature(method: str, raw_path: str, headers: dict, body: bytes) -> tuple[str, str, int] | None:
    """None if the request is signed with the test credentials, else (exception, message, status)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    match = _AUTH.match(lowered.get("authorization", ""))
    if not match:
        return "MissingAuthenticationTokenException", "Missing Authentication Token", 403
    key_id, date, region, service, terminal = (match["credential"].split("/") + [""] * 5)[:5]
    token = lowered.get("x-amz-security-token")
    if key_id != ACCESS_KEY_ID or (token is not None and token != SESSION_TOKEN):
        return "UnrecognizedClientException", "The security token included in the request is invalid.", 403
    signed = match["signed"].split(";")
    amz_date = lowered.get("x-amz-date", "")
    if (region, service, terminal) != (REGION, "bedrock", "aws4_request") or not amz_date.startswith(date) \
            or "host" not in signed or "x-amz-date" not in signed or not _fresh(amz_date):
        return "InvalidSignatureException", "Credential should be scoped correctly, with a fresh X-Amz-Date.", 403
    expected = _signature(method, raw_path, {name: lowered.get(name, "") for name in signed}, body, amz_date, token)
    if not hmac.compare_digest(expected, match["signature"]):
        return ("InvalidSignatureException", "The request signature we calculated does not match the signature you "
                "provided. Check your AWS Secret Access Key and signing method.", 403)
    return None


def _signature(method: str, raw_path: str, signed_headers: dict, body: bytes, amz_date: str, token) -> str:
    request = AWSRequest(method=method, url=f"http://{signed_headers['host']}{raw_path}", data=body,
                         headers=signed_headers)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY, token), "bedrock", REGION)
    return signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)


def _fresh(amz_date: str) -> bool:
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return False
    return abs(datetime.datetime.now(datetime.UTC) - when) <= MAX_CLOCK_SKEW


def aws_error(name: str, message: str, status: int | None = None, headers: dict | None = None) -> web.Response:
    extra = {"x-amzn-ErrorType": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/",
             "x-amzn-RequestId": "fake-request-id", **(headers or {})}
    return web.Response(status=status or ERROR_STATUS.get(name, 400), body=orjson.dumps({"message": message}),
                        content_type="application/json", headers=extra)


# ---------------------------------------------------------------- Converse body rules


def validate_converse(body) -> str | None:
    """The first rule the body breaks, worded like Bedrock's ValidationException, or None."""
    if not isinstance(body, dict):
        return "Malformed input request: expected an object"
    extra = set(body) - _TOP_LEVEL
    if extra:
        return f"Malformed input request: extraneous key [{sorted(extra)[0]}] is not permitted"
    return (_check_messages(body.get("messages")) or _check_system(body.get("system"))
            or _check_inference(body.get("inferenceConfig")) or _check_tools(body)
            or _check_output(body.get("outputConfig")))


def _check_messages(messages) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "The messages field is required and must not be empty."
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            return f"messages.{index}.role must be user or assistant"
        if index == 0 and role != "user":
            return ("A conversation must start with a user message. Try again with a conversation that starts "
                    "with a user message.")
        if index and messages[index - 1]["role"] == role:
            return ("A conversation must alternate between user and assistant roles. Make sure the conversation "
                    "alternates between user and assistant roles and try again.")
        content = message.get("content")
        if not isinstance(content, list) or not content:
            return f"messages.{index}.content must be a non-empty list"
        for number, block in enumerate(content):
            problem = _check_block(block, f"messages.{index}.content.{number}", role)
            if problem:
                return problem
    return _check_tool_pairs(messages)


def _check_block(block, where: str, role: str) -> str | None:
    if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in _BLOCKS:
        return f"{where} must have exactly one content member"
    kind, value = next(iter(block.items()))
    if kind == "text" and (not isinstance(value, str) or not value.strip()):
        return (f"The text field in the ContentBlock object at {where} is blank. Add text to the text field, "
                "and try again.")
    if kind == "image":
        return _check_image(value, where)
    if kind == "toolUse":
        if role != "assistant" or not _TOOL_NAME.match(str(value.get("toolUseId", ""))) \
                or not value.get("name") or not isinstance(value.get("input"), dict):
            return f"{where}.toolUse needs toolUseId, name and an object input, in an assistant message"
    if kind == "toolResult":
        if role != "user" or not _TOOL_NAME.match(str(value.get("toolUseId", ""))) \
                or not isinstance(value.get("content"), list):
            return f"{where}.toolResult needs toolUseId and a content list, in a user message"
        for number, part in enumerate(value["content"]):
            if not isinstance(part, dict) or len(part) != 1 or next(iter(part)) not in _RESULT_BLOCKS:
                return f"{where}.toolResult.content.{number} is not a tool result content block"
            if "image" in part and _check_image(part["image"], where):
                return _check_image(part["image"], where)
    return None


def _check_image(image, where: str) -> str | None:
    if not isinstance(image, dict) or image.get("format") not in ("png", "jpeg", "gif", "webp"):
        return f"{where}.image.format must be one of png, jpeg, gif, webp"
    try:
        base64.b64decode((image.get("source") or {}).get("bytes", ""), validate=True)
    except (binascii.Error, ValueError, TypeError):
        return f"{where}.image.source.bytes is not valid base64"
    return None


def _check_tool_pairs(messages: list[dict]) -> str | None:
    """Every toolResult answers a toolUse of the assistant turn just before it."""
    for index, message in enumerate(messages):
        results = [b["toolResult"]["toolUseId"] for b in message["content"] if "toolResult" in b]
        if not results:
            continue
        previous = messages[index - 1]["content"] if index else []
        calls = {b["toolUse"]["toolUseId"] for b in previous if "toolUse" in b}
        unknown = [r for r in results if r not in calls]
        if unknown:
            return f"messages.{index}: toolResult {unknown[0]} does not match a toolUse of the previous turn"
    return None


def _check_system(system) -> str | None:
    if system is None:
        return None
    if not isinstance(system, list) or not all(isinstance(b, dict) and list(b) == ["text"] and b["text"].strip()
                                               for b in system):
        return "system must be a list of non-blank text blocks"
    return None


def _check_inference(config) -> str | None:
    if config is None:
        return None
    if not isinstance(config, dict) or set(config) - _INFERENCE:
        return "inferenceConfig takes maxTokens, temperature, topP and stopSequences"
    if "maxTokens" in config and (not isinstance(config["maxTokens"], int) or config["maxTokens"] < 1):
        return "inferenceConfig.maxTokens must be at least 1"
    for name in ("temperature", "topP"):
        if name in config and not 0 <= config[name] <= 1:
            return f"inferenceConfig.{name} must be between 0 and 1"
    if "stopSequences" in config and not all(isinstance(s, str) for s in config["stopSequences"]):
        return "inferenceConfig.stopSequences must be strings"
    return None


def _check_tools(body: dict) -> str | None:
    uses_tools = any(kind in block for message in body["messages"] for block in message["content"]
                     for kind in ("toolUse", "toolResult"))
    config = body.get("toolConfig")
    if config is None:
        return "The toolConfig field must be defined when using toolUse and toolResult content blocks." \
            if uses_tools else None
    tools = config.get("tools") if isinstance(config, dict) else None
    if not isinstance(tools, list) or not tools:
        return "toolConfig.tools must be a non-empty list"
    names = set()
    for number, tool in enumerate(tools):
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if not isinstance(spec, dict) or not _TOOL_NAME.match(str(spec.get("name", ""))) \
                or not isinstance((spec.get("inputSchema") or {}).get("json"), dict) or spec.get("description") == "":
            return f"toolConfig.tools.{number}.toolSpec needs a valid name and inputSchema.json"
        names.add(spec["name"])
    return _check_tool_choice(config.get("toolChoice"), names)


def _check_tool_choice(choice, names: set) -> str | None:
    if choice is None:
        return None
    if not isinstance(choice, dict) or len(choice) != 1 or next(iter(choice)) not in ("auto", "any", "tool"):
        return "toolConfig.toolChoice must be one of auto, any or tool"
    if "tool" in choice and choice["tool"].get("name") not in names:
        return "toolConfig.toolChoice.tool.name must name one of the tools"
    return None


def _check_output(config) -> str | None:
    if config is None:
        return None
    text_format = config.get("textFormat") if isinstance(config, dict) else None
    schema = ((text_format or {}).get("structure") or {}).get("jsonSchema") or {}
    if (text_format or {}).get("type") != "json_schema" or not isinstance(schema.get("schema"), str):
        return "outputConfig.textFormat needs type json_schema and structure.jsonSchema.schema as a string"
    try:
        orjson.loads(schema["schema"])
    except orjson.JSONDecodeError:
        return "outputConfig.textFormat.structure.jsonSchema.schema is not valid JSON"
    return None


# ---------------------------------------------------------------- Titan Text Embeddings (InvokeModel)


def validate_titan(model_id: str, body) -> str | None:
    """The first rule an InvokeModel body for a Titan text embeddings model breaks, or None."""
    if not model_id.startswith("amazon.titan-embed-text-"):
        return "The provided model identifier is invalid."
    if not isinstance(body, dict):
        return "Malformed input request: expected an object"
    allowed = _TITAN_V2_FIELDS if model_id.startswith("amazon.titan-embed-text-v2") else {"inputText"}
    extra = set(body) - allowed
    if extra:
        return f"Malformed input request: extraneous key [{sorted(extra)[0]}] is not permitted"
    text = body.get("inputText")
    if not isinstance(text, str) or not text.strip():
        return "Malformed input request: #: required key [inputText] not found or blank"
    if len(text) > TITAN_MAX_CHARACTERS:
        return f"Malformed input request: #/inputText: expected maxLength: {TITAN_MAX_CHARACTERS}"
    if "dimensions" in body and body["dimensions"] not in TITAN_DIMENSIONS:
        return f"Malformed input request: #/dimensions: {body['dimensions']} is not a valid enum value"
    if "normalize" in body and not isinstance(body["normalize"], bool):
        return "Malformed input request: #/normalize: expected type: Boolean"
    return None


def embedding_for(text: str, dimensions: int) -> list[float]:
    """A unit vector that depends on the text alone (Titan normalizes by default)."""
    raw = hashlib.shake_256(text.encode()).digest(dimensions * 2)
    values = [int.from_bytes(raw[i:i + 2], "little") / 65536 - 0.5 for i in range(0, len(raw), 2)]
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def embedding_tokens(text: str) -> int:
    return len(text.split())


def _titan_answer(body: dict) -> web.Response:
    vector = embedding_for(body["inputText"], body.get("dimensions", 1024))
    tokens = embedding_tokens(body["inputText"])
    answer = {"embedding": vector, "inputTextTokenCount": tokens, "embeddingsByType": {"float": vector}}
    headers = {"x-amzn-RequestId": "fake-request-id", "X-Amzn-Bedrock-Input-Token-Count": str(tokens)}
    return web.Response(body=orjson.dumps(answer), content_type="application/json", headers=headers)


# ---------------------------------------------------------------- answers


def _answer(body: dict, plan: Plan) -> tuple[list[dict], str]:
    calls = plan.tool_calls
    last_turn = body["messages"][-1]["content"]
    tools = (body.get("toolConfig") or {}).get("tools") or []
    if calls is None:
        answered = any("toolResult" in block for block in last_turn)
        calls = [ToolCall(tools[0]["toolSpec"]["name"], {"city": "Paris"})] if tools and not answered else []
    content = [{"reasoningContent": {"reasoningText": {"text": plan.reasoning, "signature": "fake-signature"}}}] \
        if plan.reasoning else []
    if plan.text and not calls:
        content.append({"text": plan.text})
    content.extend({"toolUse": {"toolUseId": c.id, "name": c.name, "input": c.input}} for c in calls)
    return content, plan.stop_reason or ("tool_use" if calls else "end_turn")


def _usage(plan: Plan) -> dict:
    usage = {"inputTokens": plan.input_tokens, "outputTokens": plan.output_tokens,
             "totalTokens": plan.input_tokens + plan.output_tokens + (plan.cache_read or 0) + (plan.cache_write or 0)}
    if plan.cache_read is not None:
        usage["cacheReadInputTokens"] = plan.cache_read
    if plan.cache_write is not None:
        usage["cacheWriteInputTokens"] = plan.cache_write
    return usage


async def _stream(request: web.Request, content: list[dict], stop_reason: str, plan: Plan) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/vnd.amazon.eventstream",
                                           "x-amzn-RequestId": "fake-request-id"})
    await response.prepare(request)
    stream = b"".join(_frames(content, stop_reason, plan))
    for start in range(0, len(stream), 37):     # odd-sized writes: frames straddle reads
        await response.write(stream[start:start + 37])
        await asyncio.sleep(0)
    await response.write_eof()
    return response


def _frames(content: list[dict], stop_reason: str, plan: Plan) -> list[bytes]:
    if plan.exception_first:
        return [encode_exception(plan.exception_first, plan.error_message)]
    frames = [encode_event("messageStart", {"role": "assistant"})]
    for index, block in enumerate(content):
        block_frames = _block_frames(index, block)
        if "text" in block:
            frames.append(block_frames.pop(0))
            if _interrupt(frames, plan):
                return frames
        frames.extend(block_frames)
    frames.append(encode_event("messageStop", {"stopReason": stop_reason}))
    frames.append(encode_event("metadata", {"usage": _usage(plan), "metrics": {"latencyMs": 42}}))
    return frames


def _interrupt(frames: list[bytes], plan: Plan) -> bool:
    """After the first text delta: the scripted mid-stream failure, if any."""
    if plan.stream_exception:
        frames.append(encode_exception(plan.stream_exception, plan.error_message))
    elif plan.corrupt_frame:
        bad = bytearray(encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}}))
        bad[-1] ^= 0xFF
        frames.append(bytes(bad))
    return bool(plan.stream_exception or plan.corrupt_frame or plan.end_early)


def _block_frames(index: int, block: dict) -> list[bytes]:
    """A content block as ConverseStream sends it; text blocks have no contentBlockStart."""
    stop = encode_event("contentBlockStop", {"contentBlockIndex": index})
    if "text" in block:
        words = block["text"].split(" ")
        pieces = [words[0]] + [" " + w for w in words[1:]]
        return [_delta(index, {"text": piece}) for piece in pieces] + [stop]
    if "toolUse" in block:
        tool = block["toolUse"]
        arguments = orjson.dumps(tool["input"]).decode()
        middle = len(arguments) // 2
        start = encode_event("contentBlockStart", {"contentBlockIndex": index,
                                                   "start": {"toolUse": {"toolUseId": tool["toolUseId"],
                                                                         "name": tool["name"]}}})
        return [start, _delta(index, {"toolUse": {"input": arguments[:middle]}}),
                _delta(index, {"toolUse": {"input": arguments[middle:]}}), stop]
    reasoning = block["reasoningContent"]["reasoningText"]
    return [_delta(index, {"reasoningContent": {"text": reasoning["text"]}}),
            _delta(index, {"reasoningContent": {"signature": reasoning["signature"]}}), stop]


def _delta(index: int, delta: dict) -> bytes:
    return encode_event("contentBlockDelta", {"contentBlockIndex": index, "delta": delta})


# ---------------------------------------------------------------- AWS event-stream encoding (test-only)


def encode_event(event_type: str, payload: dict) -> bytes:
    body = {**payload, "p": "abcdefghijklmnopqrstuvwxyzABCDEF"}     # Bedrock pads payloads against traffic analysis
    return encode_frame({":message-type": "event", ":event-type": event_type, ":content-type": "application/json"},
                        orjson.dumps(body))


def encode_exception(name: str, message: str) -> bytes:
    return encode_frame({":message-type": "exception", ":exception-type": name, ":content-type": "application/json"},
                        orjson.dumps({"message": message}))


def encode_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One frame: prelude (total length, headers length, prelude CRC), headers (all strings, type 7),
    payload, message CRC, integers big-endian, CRC-32 as in zlib."""
    encoded_headers = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + encoded_headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _header(name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode(), value.encode()
    return struct.pack(">B", len(name_bytes)) + name_bytes + struct.pack(">BH", 7, len(value_bytes)) + value_bytes
