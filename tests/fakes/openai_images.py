"""A fake OpenAI Images API that checks requests as the real one does, answers in its exact wire
format (OpenAI's Images API reference) and keeps what it received as it
arrived: a generation's raw JSON bytes, an edit's or variation's multipart parts in order (text
fields as sent, files with their name, filename, content type and bytes).

Tests script it with `fake.plan(...)`; with nothing queued it answers by `fake.default`.
"""

import asyncio
import base64
import io
import time
from dataclasses import dataclass, field

import orjson
from aiohttp import web
from PIL import Image

from .openai_upstream import API_KEY
from .scripted import ScriptedFake

MODERATION_LEVELS = ("auto", "low")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")


def png(size=(8, 8), colour=(200, 30, 30), text: dict | None = None) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG", pnginfo=info)
    return out.getvalue()


@dataclass
class ImagePlan:
    status: int = 200
    error_type: str = "server_error"
    error_code: str | None = None
    text_tokens: int = 11                 # input text tokens
    image_tokens_per_input: int = 323     # input image tokens per uploaded image (mask included)
    output_tokens_per_image: int = 272
    output_text_tokens: int = 0
    output_details: bool = True           # include output_tokens_details (a newer field)
    image: bytes = field(default_factory=png)
    event_delay: float = 0.0              # streams: pause before each event
    fail_mid_stream: bool = False         # streams: an error event after the first partial image


@dataclass
class FilePart:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Received:
    endpoint: str
    raw: bytes = b""                                   # a generation's JSON body, byte for byte
    fields: list[tuple[str, str]] = field(default_factory=list)   # multipart text fields, in order
    files: list[FilePart] = field(default_factory=list)

    @property
    def json(self) -> dict:
        return orjson.loads(self.raw)

    @property
    def params(self) -> dict:
        """The request's parameters, from whichever body it had."""
        return self.json if self.raw else dict(self.fields)


class FakeOpenAIImages(ScriptedFake[ImagePlan]):
    def __init__(self):
        app = web.Application(client_max_size=512 * 1024 * 1024)
        for endpoint in ("generations", "edits", "variations"):
            app.router.add_post(f"/v1/images/{endpoint}", self._handler(endpoint))
        super().__init__(app, ImagePlan, path="/v1")
        self.received: list[Received] = []

    def reset(self) -> None:
        super().reset()
        self.received.clear()

    def _handler(self, endpoint: str):
        async def handle(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != f"Bearer {API_KEY}":
                return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            received = await _read(request, endpoint)
            self.received.append(received)
            self.headers.append(dict(request.headers))
            problem = _check(received)
            if problem:
                return problem
            plan = self._take_plan()
            if plan.status != 200:
                return _error(plan.status, f"fake failure {plan.status}", plan.error_type, plan.error_code)
            if received.params.get("stream") in (True, "true"):
                return await _stream(request, received, plan)
            return web.Response(body=orjson.dumps(_answer(received, plan)), content_type="application/json")

        return handle


async def _read(request: web.Request, endpoint: str) -> Received:
    if endpoint == "generations":
        return Received(endpoint, raw=await request.read())
    received = Received(endpoint)
    reader = await request.multipart()
    async for part in reader:
        data = await part.read()
        if part.filename is None:
            received.fields.append((part.name, data.decode()))
        else:
            received.files.append(FilePart(part.name, part.filename, part.headers.get("Content-Type"), data))
    return received


def _check(received: Received) -> web.Response | None:
    """What the real API refuses, in its words."""
    try:
        params = received.params
    except orjson.JSONDecodeError:
        return _invalid("We could not parse the JSON body of your request.", None)
    model = str(params.get("model") or "dall-e-2")
    gpt_image = not model.startswith("dall-e")
    if received.endpoint != "variations" and not params.get("prompt"):
        return _invalid("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
    if "moderation" in params and (received.endpoint != "generations" or not gpt_image):
        return _invalid("Unknown parameter: 'moderation'.", "moderation", "unknown_parameter")
    if "moderation" in params and params["moderation"] not in MODERATION_LEVELS:
        return _invalid(f"Invalid value: '{params['moderation']}'. Supported values are: 'auto' and 'low'.",
                        "moderation", "invalid_value")
    if gpt_image and "response_format" in params:
        return _invalid("Unknown parameter: 'response_format'.", "response_format", "unknown_parameter")
    if params.get("stream") in (True, "true") and (not gpt_image or str(params.get("n", 1)) != "1"):
        return _invalid("Streaming is supported for GPT image models and one image only.", "stream")
    if received.endpoint == "variations" and model != "dall-e-2":
        return _invalid("Invalid model. The model argument should be left blank.", "model")
    return _check_files(received) if received.endpoint != "generations" else None


def _check_files(received: Received) -> web.Response | None:
    images = [f for f in received.files if f.name in ("image", "image[]")]
    if not images or (len(images) > 1 and any(f.name != "image[]" for f in images)):
        return _invalid("Missing required parameter: 'image'.", "image", "missing_required_parameter")
    for part in received.files:
        if part.name not in ("image", "image[]", "mask"):
            return _invalid(f"Unknown parameter: '{part.name}'.", part.name, "unknown_parameter")
        if part.content_type not in IMAGE_TYPES or (part.name == "mask" and part.content_type != "image/png"):
            return _invalid(f"Invalid file '{part.name}': unsupported mimetype ('{part.content_type}').", part.name,
                            "invalid_image_format")
    return None


def _answer(received: Received, plan: ImagePlan) -> dict:
    params = received.params
    model = str(params.get("model") or "dall-e-2")
    n = int(params.get("n") or 1)
    if model.startswith("dall-e"):
        if params.get("response_format", "url") == "url":
            return {"created": int(time.time()), "data": [{"url": f"https://images.fake/{i}.png"} for i in range(n)]}
        return {"created": int(time.time()),
                "data": [{"b64_json": base64.b64encode(plan.image).decode()} for _ in range(n)]}
    image_tokens = plan.image_tokens_per_input * len(received.files)
    output = plan.output_tokens_per_image * n + plan.output_text_tokens
    usage = {"input_tokens": plan.text_tokens + image_tokens,
             "input_tokens_details": {"text_tokens": plan.text_tokens, "image_tokens": image_tokens},
             "output_tokens": output, "total_tokens": plan.text_tokens + image_tokens + output}
    if plan.output_details:
        usage["output_tokens_details"] = {"image_tokens": output - plan.output_text_tokens,
                                          "text_tokens": plan.output_text_tokens}
    return {"created": int(time.time()), "background": "opaque", "output_format": params.get("output_format", "png"),
            "quality": params.get("quality", "medium"), "size": params.get("size", "1024x1024"),
            "data": [{"b64_json": base64.b64encode(plan.image).decode()} for _ in range(n)], "usage": usage}


async def _stream(request: web.Request, received: Received, plan: ImagePlan) -> web.StreamResponse:
    """`partial_images` partial events, then the completed one with the usage (as `_answer` counts it)."""
    answer = _answer(received, plan)
    prefix = "image_generation" if received.endpoint == "generations" else "image_edit"
    shared = {name: answer[name] for name in ("background", "output_format", "quality", "size")}
    picture = answer["data"][0]["b64_json"]
    events = [{"type": f"{prefix}.partial_image", "b64_json": picture, "created_at": answer["created"],
               "partial_image_index": index, **shared}
              for index in range(int(received.params.get("partial_images") or 0))]
    events.append({"type": f"{prefix}.completed", "b64_json": picture, "created_at": answer["created"], **shared,
                   "usage": answer["usage"]})
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for number, event in enumerate(events):
        await asyncio.sleep(plan.event_delay)
        await response.write(f"event: {event['type']}\n".encode() + b"data: " + orjson.dumps(event) + b"\n\n")
        if plan.fail_mid_stream and number == 0:
            error = {"type": "error", "error": {"type": "server_error", "code": None, "param": None,
                                                "message": "The server had an error while processing your request."}}
            await response.write(b"event: error\ndata: " + orjson.dumps(error) + b"\n\n")
            return response
    await response.write_eof()
    return response


def _invalid(message: str, param: str | None, code: str | None = None) -> web.Response:
    return _error(400, message, "invalid_request_error", code, param)


def _error(status: int, message: str, type_: str, code: str | None, param: str | None = None) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")
