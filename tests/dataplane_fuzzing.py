"""Fuzzing the data plane: Hypothesis strategies for requests to every /v1 endpoint that takes a
body, built from the endpoints' own schemas (alltoken.http.v1.schemas) and mutated; the server they
run against (one gateway with every provider type behind the fakes in tests/fakes/, a model routed
to each); and the judgement of each answer.

Shared by tests/test_dataplane_fuzz.py (a few hundred cases in CI) and bench/fuzz.py (30,000+).

Mutations: a value of the wrong kind in place of about one value in MUTATION_ODDS (null, booleans,
extreme numbers, huge or odd strings, empty and deeply nested containers); unknown keys; and, for
the body itself, bad JSON, invalid UTF-8, a JSON value that is not an object, and broken multipart.
"""

import io
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from hypothesis import strategies as st
from PIL import Image

from alltoken.http.v1.schemas.chat import CHAT_REQUEST
from alltoken.http.v1.schemas.embeddings import EMBEDDINGS_REQUEST
from alltoken.http.v1.schemas.images import IMAGE_REQUESTS
from alltoken.http.v1.schemas.messages import COUNT_TOKENS_REQUEST, MESSAGES_REQUEST
from alltoken.http.v1.schemas.nodes import Anything, Arr, Bool, Either, Int, Node, Num, Obj, Str, Tagged

from .fakes import anthropic_upstream, bedrock_upstream, gemini_upstream, llama_upstream, mistral_upstream
from .fakes.anthropic_upstream import FakeAnthropic
from .fakes.bedrock_upstream import FakeBedrock
from .fakes.gemini_upstream import FakeGemini
from .fakes.llama_upstream import FakeLlama
from .fakes.mistral_upstream import FakeMistral
from .fakes.openai_images import FakeOpenAIImages
from .fakes.openai_upstream import API_KEY as OPENAI_KEY
from .fakes.openai_upstream import FakeOpenAI
from .harness import Gateway

MUTATION_ODDS = 12          # about one value in this many is replaced by one of the wrong kind
RECURSION = 3               # levels of a recursive schema (a JSON schema's subschemas) generated
HONEST_UPSTREAM = (502, 503, 504)

# ------------------------------------------------------------------------------------ the server

TEXT_PRICE = {"prompt": "0.000001", "completion": "0.000002"}
CHAT_MODELS = {     # public id -> (provider, upstream model)
    "fuzz/openai": ("openai", "gpt-4o-mini"),
    "fuzz/compatible": ("compatible", "local-model"),
    "fuzz/anthropic": ("anthropic", "claude-sonnet-4-5"),
    "fuzz/gemini": ("gemini", "gemini-2.5-flash"),
    "fuzz/bedrock": ("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
    "fuzz/mistral": ("mistral", "mistral-large-latest"),
    "fuzz/llama": ("llama", "Llama-4-Maverick-17B-128E-Instruct-FP8"),
    "fuzz/demo": ("demo", "demo"),
}
EMBEDDING_MODELS = {
    "fuzz/openai-embed": ("openai", "text-embedding-3-small"),
    "fuzz/gemini-embed": ("gemini", "gemini-embedding-001"),
    "fuzz/bedrock-embed": ("bedrock", "amazon.titan-embed-text-v2:0"),
    "fuzz/mistral-embed": ("mistral", "mistral-embed"),
    "fuzz/demo-embed": ("demo", "demo-embed"),
}
IMAGE_MODELS = {
    "fuzz/gpt-image": ("openai-images", "gpt-image-1"),
    "fuzz/dall-e": ("openai-images", "dall-e-2"),
    "fuzz/demo-image": ("demo", "demo-image"),
}


@dataclass
class Target:
    """The running server and a key of an account with plenty of credit (image uploads allowed)."""

    gateway: Gateway
    key: str
    fakes: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.gateway.url

    def forget_requests(self) -> None:
        """The fakes keep what they received; a long run clears it now and then."""
        for fake in self.fakes:
            fake.reset()

    def reserved_usd(self) -> str:
        answer = httpx.get(self.url + "/v1/credits", headers={"Authorization": f"Bearer {self.key}"}, timeout=30)
        return answer.json()["data"]["reserved_usd"]

    def alive(self) -> bool:
        try:
            return httpx.get(self.url + "/health/live", timeout=30).status_code == 200
        except httpx.HTTPError:
            return False


@contextmanager
def fuzz_target(workdir: Path) -> Iterator[Target]:
    """Every fake upstream, and one gateway routing a model of each kind to each provider type."""
    with ExitStack() as stack:
        fakes = {name: fake_type().start() for name, fake_type in (
            ("openai", FakeOpenAI), ("compatible", FakeOpenAI), ("images", FakeOpenAIImages),
            ("anthropic", FakeAnthropic), ("gemini", FakeGemini), ("bedrock", FakeBedrock),
            ("mistral", FakeMistral), ("llama", FakeLlama))}
        for fake in fakes.values():
            stack.callback(fake.stop)
        gateway = Gateway(workdir, _config(fakes)).start()
        stack.callback(gateway.stop)
        account, key = gateway.new_key(usd="100000")
        gateway.cli("terms", "accept", "--account", account, "--image-uploads")
        yield Target(gateway, key, list(fakes.values()))


def _config(fakes: dict) -> dict:
    providers = [
        {"id": "openai", "type": "openai", "api_key": OPENAI_KEY, "base_url": fakes["openai"].base_url},
        {"id": "compatible", "type": "openai_compatible", "api_key": OPENAI_KEY,
         "base_url": fakes["compatible"].base_url},
        {"id": "openai-images", "type": "openai", "api_key": OPENAI_KEY, "base_url": fakes["images"].base_url},
        {"id": "anthropic", "type": "anthropic", "api_key": anthropic_upstream.API_KEY,
         "base_url": fakes["anthropic"].base_url},
        {"id": "gemini", "type": "gemini", "api_key": gemini_upstream.API_KEY, "base_url": fakes["gemini"].base_url},
        {"id": "bedrock", "type": "bedrock", "region": bedrock_upstream.REGION,
         "aws_access_key_id": bedrock_upstream.ACCESS_KEY_ID,
         "aws_secret_access_key": bedrock_upstream.SECRET_ACCESS_KEY, "base_url": fakes["bedrock"].base_url},
        {"id": "mistral", "type": "mistral", "api_key": mistral_upstream.API_KEY,
         "base_url": fakes["mistral"].base_url},
        {"id": "llama", "type": "llama", "api_key": llama_upstream.API_KEY, "base_url": fakes["llama"].base_url},
        {"id": "demo", "type": "demo"},
    ]
    unpriced = {"compatible", "llama"}      # not in the catalog: the route carries its price
    models = [{"id": public, "routes": [{"provider": provider, "model": upstream,
                                         **({"pricing": TEXT_PRICE} if provider in unpriced else {})}]}
              for public, (provider, upstream) in {**CHAT_MODELS, **EMBEDDING_MODELS, **IMAGE_MODELS}.items()]
    return {"providers": providers, "models": models}


# ------------------------------------------------------------------------------- values by schema

def _nested(depth: int):
    value: list | dict = []
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


JUNK = st.one_of(
    st.none(), st.booleans(),
    st.sampled_from([0, -1, 1, 2**31, 2**63 - 1, -(2**63), 10**30, 0.5, -1e308, 1e308, 5e-324]),
    st.sampled_from(["", " ", "x", "²", "\u0000", "null", "🙂" * 500, "a" * 200_000, "data:,", "https://"]),
    st.text(max_size=12),
    st.sampled_from([[], {}, [None], [[]], {"": {}}]),
    st.lists(st.text(max_size=4), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.integers(1, 70).map(_nested),            # past the body's depth bound (64) too
)
SCALARS = st.none() | st.booleans() | st.integers(-1000, 1000) | st.floats(allow_nan=False, allow_infinity=False) \
    | st.text(max_size=8)
JSON = st.recursive(SCALARS,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=6)
UNKNOWN_KEYS = st.dictionaries(st.sampled_from(["x_extra", "foo", "metadata2", "__proto__", ""]), JSON, max_size=1)


def mutated(node: Node, depth: int = 0) -> st.SearchStrategy:
    """A value for `node`: one that fits, or now and then one that does not."""
    return _sometimes_junk(_fitting(node, depth))


def _sometimes_junk(fitting: st.SearchStrategy) -> st.SearchStrategy:
    # Junk on the last roll: Hypothesis starts from the simplest draws (0), and those should fit.
    return st.integers(0, MUTATION_ODDS - 1).flatmap(lambda roll: JUNK if roll == MUTATION_ODDS - 1 else fitting)


def _fitting(node: Node, depth: int) -> st.SearchStrategy:
    if isinstance(node, Obj):
        return _object(node, depth)
    if isinstance(node, Tagged):
        return _tagged(node, depth)
    if isinstance(node, Either):
        return st.one_of([_fitting(option, depth) for option in node.options])
    if isinstance(node, Arr):
        largest = 3 if node.max_items is None else min(node.max_items, max(node.min_items, 3))
        return st.lists(mutated(node.items, depth + 1), min_size=node.min_items, max_size=largest)
    return _scalar(node)


def _scalar(node: Node) -> st.SearchStrategy:
    if isinstance(node, Str):
        if node.enum is not None:
            return st.sampled_from(sorted(node.enum))
        return st.text(min_size=node.min_length, max_size=min(node.max_length or 24, 24))
    if isinstance(node, Int):
        return st.integers(node.minimum, node.maximum)
    if isinstance(node, Num):
        return st.floats(node.minimum, node.maximum, allow_nan=False, allow_infinity=False) | \
            st.integers(int(node.minimum or -10), int(node.maximum or 10))
    if isinstance(node, Bool):
        return st.booleans()
    assert isinstance(node, Anything), node
    return JSON


def _object(node: Obj, depth: int, fixed: dict | None = None) -> st.SearchStrategy:
    """The required fields, up to three optional ones (`fixed` strategies where given), and now and
    then an unknown key."""
    fixed = fixed or {}
    if depth > RECURSION and not node.required:
        return st.just({})
    strategy_of = {name: fixed[name] if name in fixed else mutated(child, depth + 1)
                   for name, child in node.fields.items()}
    required = {name: strategy_of[name] for name in node.required}
    optional = sorted(set(node.fields) - set(node.required))
    chosen = st.lists(st.sampled_from(optional), max_size=3, unique=True) if optional else st.just([])
    return st.tuples(st.fixed_dictionaries(required), chosen.flatmap(
        lambda names: st.fixed_dictionaries({name: strategy_of[name] for name in names})), UNKNOWN_KEYS
    ).map(lambda parts: {**parts[2], **parts[0], **parts[1]})


def _tagged(node: Tagged, depth: int) -> st.SearchStrategy:
    kinds = [_object(kind_node, depth).map(lambda value, kind=kind: {node.tag: kind, **value})
             for kind, kind_node in node.kinds.items()]
    if node.others is not None:
        kinds.append(st.builds(lambda value, kind: {node.tag: kind, **value}, _object(node.others, depth),
                               st.text(min_size=1, max_size=10)))
    return st.one_of(kinds)


# ------------------------------------------------------------------------------------- requests

@dataclass
class Case:
    """One request, ready to send."""

    path: str
    content: bytes
    headers: dict
    anthropic: bool = False         # errors come in Anthropic's shape

    def describe(self) -> str:
        shown = self.content[:600].decode("utf-8", "replace")
        return f"POST {self.path} {shown!r}{' ...' if len(self.content) > 600 else ''}"


def _json_body(node: Obj, models: dict, **fixed) -> st.SearchStrategy:
    return _object(node, 0, {"model": _sometimes_junk(st.sampled_from(sorted(models))), **fixed})


SMALL_TOKENS = st.integers(1, 64)
BODIES = {
    "/v1/chat/completions": _json_body(CHAT_REQUEST, CHAT_MODELS, max_tokens=SMALL_TOKENS),
    "/v1/embeddings": _json_body(EMBEDDINGS_REQUEST, EMBEDDING_MODELS),
    "/v1/messages": _json_body(MESSAGES_REQUEST, CHAT_MODELS, max_tokens=SMALL_TOKENS),
    "/v1/messages/count_tokens": _json_body(COUNT_TOKENS_REQUEST, CHAT_MODELS),
    "/v1/images/generations": _json_body(
        IMAGE_REQUESTS["generations"], IMAGE_MODELS, n=st.integers(1, 2),
        size=st.sampled_from(["256x256", "64x48", "auto", "1024x1024", "²x2", "0x0", "huge"])),
}
ANTHROPIC_PATHS = ("/v1/messages", "/v1/messages/count_tokens")


def _encoded(body: dict) -> st.SearchStrategy:
    """The body as sent: mostly as it is, sometimes broken on the way (bad JSON, invalid UTF-8,
    another JSON value, nothing)."""
    raw = json.dumps(body).encode()
    return st.sampled_from(["as is"] * 12 + ["truncated", "invalid utf-8", "lone surrogate", "not an object",
                                             "empty"]).flatmap(lambda how: _broken(raw, how))


def _broken(raw: bytes, how: str) -> st.SearchStrategy:
    if how == "as is":
        return st.just(raw)
    if how == "truncated":
        return st.integers(0, max(len(raw) - 1, 0)).map(lambda cut: raw[:cut])
    if how == "invalid utf-8":
        return st.sampled_from([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80"]).map(
            lambda bad: raw.replace(b'"', b'"' + bad, 2))
    if how == "lone surrogate":
        return st.just(raw.replace(b'"', b'"\\ud800', 2))
    if how == "not an object":
        return st.sampled_from([b"[]", b"5", b'"x"', b"null", b"[" + raw + b"]"])
    return st.just(b"")


def json_cases(path: str, key: str) -> st.SearchStrategy:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return BODIES[path].flatmap(_encoded).map(
        lambda content: Case(path, content, headers, anthropic=path in ANTHROPIC_PATHS))


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30, 0) if mode == "RGBA" else (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


IMAGE = _png((16, 16))
MASK = _png((16, 16), "RGBA")
FILES = st.sampled_from([
    [("image", ("a.png", IMAGE, "image/png"))],
    [("image", ("a.png", IMAGE, "image/png")), ("mask", ("m.png", MASK, "image/png"))],
    [("image[]", ("a.png", IMAGE, "image/png")), ("image[]", ("b.png", IMAGE, "image/png"))],
    [("image", ("a.png", b"not a picture", "image/png"))],
    [("image", ("a.png", b"", "image/png"))],
    [("image", ("a.png", IMAGE, "image/png")), ("mask", ("m.png", IMAGE, "image/png"))],
    [],
])


def _form_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def form_cases(endpoint: str, key: str) -> st.SearchStrategy:
    """/v1/images/edits or /variations: the schema's fields as form text, files, or a broken form."""
    path = f"/v1/images/{endpoint}"
    fields = _json_body(IMAGE_REQUESTS[endpoint], IMAGE_MODELS, n=st.sampled_from([1, 2, "1", "x", "²"]),
                        size=st.sampled_from(["16x16", "auto", "²x2", "1x0"]))

    def encoded(parts) -> Case:
        body, files, broken = parts
        request = httpx.Request("POST", "http://x" + path, data={k: _form_text(v) for k, v in body.items()},
                                files=files or None)
        content, headers = request.read(), dict(request.headers)
        del headers["content-length"]           # the client sets it for what is sent
        if broken == "boundary":
            headers["content-type"] = "multipart/form-data; boundary=nothing-like-it"
        elif broken == "truncated":
            content = content[: len(content) // 2]
        elif broken == "no boundary":
            headers["content-type"] = "multipart/form-data"
        return Case(path, content, {**headers, "Authorization": f"Bearer {key}"})

    broken = st.sampled_from([None] * 8 + ["boundary", "truncated", "no boundary"])
    return st.tuples(fields, FILES, broken).map(encoded)


def all_cases(key: str) -> st.SearchStrategy:
    return st.one_of([json_cases(path, key) for path in BODIES]
                     + [form_cases(endpoint, key) for endpoint in ("edits", "variations")])


# ------------------------------------------------------------------------------------- judgement

@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str


def send(client: httpx.Client, url: str, case: Case) -> Answer:
    """The answer read to its end (a stream included); a broken connection raises."""
    with client.stream("POST", url + case.path, content=case.content, headers=case.headers) as response:
        body = response.read()
    return Answer(response.status_code, body, response.headers.get("content-type", ""))


def problem(case: Case, answer: Answer) -> str | None:
    """What is wrong with the answer, or None: no server error but an upstream's, and errors in the
    endpoint's own shape."""
    if answer.status >= 500 and answer.status not in HONEST_UPSTREAM:
        return f"status {answer.status}"
    if answer.status < 400:
        return None
    try:
        payload = json.loads(answer.body)
    except ValueError:
        return f"status {answer.status} with a body that is not JSON"
    if not isinstance(payload, dict):
        return f"status {answer.status} with a body that is not a JSON object"
    error = payload.get("error")
    if case.anthropic and not (payload.get("type") == "error" and isinstance(error, dict) and error.get("message")):
        return f"status {answer.status} not in Anthropic's error shape"
    if not case.anthropic and not (isinstance(error, dict) and error.get("message") and "param" in error):
        return f"status {answer.status} not in OpenAI's error shape"
    if answer.status in HONEST_UPSTREAM and not case.anthropic and not str(error.get("code")).startswith("upstream"):
        return f"status {answer.status} that is not an upstream's failure ({error.get('code')})"
    return None


_FRAMES = r"((?:  File .*\n(?:    .*\n)*)+)"        # a frame: its File line, then its code (and carets)
_CRASH = re.compile(rf"unhandled \w+ in \S+\n{_FRAMES}|Traceback \(most recent call last\):\n{_FRAMES}")


def crash_sites(log: str) -> dict[str, int]:
    """Where the server crashed, from its log: the innermost frame of each traceback, with a count."""
    sites: dict[str, int] = {}
    for match in _CRASH.finditer(log):
        frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', match.group(1) or match.group(2))
        if frames:
            path, line, function = frames[-1]
            site = f"{path.split('/src/')[-1]}:{line} in {function}"
            sites[site] = sites.get(site, 0) + 1
    return sites

