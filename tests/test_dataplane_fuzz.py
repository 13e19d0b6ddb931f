"""No request, however malformed, gets a server error from the data plane (issue 14, defect 1), and
none leaves a credit hold behind.

One real gateway with every provider type behind the fakes (tests/dataplane_fuzzing.py). First the
crash shapes the issue's audit found, each sent to a model whose translator crashed on it: each is
now a 400 in the endpoint's own shape naming the field. Then a few hundred generated requests, built
from the endpoints' own schemas and mutated, across all seven endpoints that take a body: no status
500 (502/503/504 only as an upstream's failure), errors in the endpoint's shape, no traceback in the
server's log, the server alive, and nothing left reserved on the account afterwards. Derandomized, so
CI runs the same cases each time; bench/fuzz.py runs the same generators 30,000+ times.
"""

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from .dataplane_fuzzing import all_cases, crash_sites, fuzz_target, problem, send
from .harness import wait_for

CASES = 300
FUZZ = settings(max_examples=CASES, derandomize=True, deadline=None, database=None, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck))
USER = {"role": "user", "content": "hi"}


def chat(model: str, **fields) -> dict:
    return {"model": model, "messages": [USER], "max_tokens": 16, **fields}


def assistant(**fields) -> dict:
    return {"model": "fuzz/gemini", "messages": [USER, {"role": "assistant", "content": None, **fields}, USER]}


def message(model: str, **fields) -> dict:
    return {"model": model, "max_tokens": 16, "messages": [USER], **fields}


ISSUE_SHAPES = [        # (path, body, param): each crashed the translator of its model before
    ("/v1/chat/completions", chat("fuzz/gemini", stop=5), "stop"),
    ("/v1/chat/completions", chat("fuzz/demo", tools=["x"]), "tools[0]"),
    ("/v1/chat/completions", chat("fuzz/bedrock", response_format="json"), "response_format"),
    ("/v1/chat/completions", chat("fuzz/anthropic", reasoning_effort=[]), "reasoning_effort"),
    ("/v1/chat/completions", chat("fuzz/gemini", reasoning_effort=["high"]), "reasoning_effort"),
    ("/v1/chat/completions", chat("fuzz/demo", messages=[{"role": [], "content": "x"}]), "messages[0].role"),
    ("/v1/chat/completions", assistant(tool_calls=5), "messages[1].tool_calls"),
    ("/v1/chat/completions", assistant(tool_calls=["x"]), "messages[1].tool_calls[0]"),
    ("/v1/chat/completions", chat("fuzz/demo", messages=[{"role": "user", "content": [{"type": "text", "text": 5}]}]),
     "messages[0].content[0].text"),
    ("/v1/chat/completions", chat("fuzz/gemini", messages=[{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": []}}]}]),
     "messages[0].content[0].input_audio.format"),
    ("/v1/messages", message("fuzz/demo", tools=5), "tools"),
    ("/v1/messages", message("fuzz/demo", messages=[{"role": "user", "content": [{"type": "image", "source": 5}]}]),
     "messages[0].content[0].source"),
    ("/v1/messages", message("fuzz/gemini", stop_sequences=5), "stop_sequences"),
    ("/v1/images/generations", {"model": "fuzz/demo-image", "prompt": "a cat", "output_format": ["png"]},
     "output_format"),
]


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    with fuzz_target(tmp_path_factory.mktemp("dataplane-fuzz")) as target:
        yield target


@pytest.mark.parametrize("path,body,param", ISSUE_SHAPES)
def test_the_crash_shapes_of_the_audit_are_400s_naming_the_field(target, path, body, param):
    answer = httpx.post(target.url + path, json=body, headers={"Authorization": f"Bearer {target.key}"}, timeout=60)
    assert answer.status_code == 400, answer.text
    if path == "/v1/messages":      # Anthropic's shape has no `param`: the message names the field
        assert answer.json()["type"] == "error" and f"'{param}'" in answer.json()["error"]["message"]
    else:
        assert answer.json()["error"]["param"] == param


@pytest.mark.parametrize("dimensions,limit", [(1537, 1536), (10**9, 8192)])
def test_embedding_dimensions_are_bounded_by_the_model(target, dimensions, limit):
    """Above the model's documented size (text-embedding-3-small: 1536), or the cap where none is known,
    the request stops here; 10^9 once hung an upstream."""
    answer = httpx.post(target.url + "/v1/embeddings", headers={"Authorization": f"Bearer {target.key}"},
                        json={"model": "fuzz/openai-embed", "input": "x", "dimensions": dimensions}, timeout=60)
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "dimensions"
    assert str(limit) in answer.json()["error"]["message"]


def test_generated_requests_get_no_server_error_and_leave_no_hold(target):
    failures: list[str] = []

    with httpx.Client(timeout=120) as client:
        @FUZZ
        @given(case=all_cases(target.key))
        def run(case):
            try:
                answer = send(client, target.url, case)
            except httpx.HTTPError as exc:          # the connection broke: a crash mid-answer
                failures.append(f"no complete answer ({type(exc).__name__}) <- {case.describe()}")
                return
            found = problem(case, answer)
            if found:
                failures.append(f"{found}: {answer.body[:300]!r} <- {case.describe()}")

        run()
    assert failures == []
    assert target.alive()
    assert crash_sites(target.gateway.log()) == {}
    assert wait_for(lambda: target.reserved_usd() == "0.000000", timeout=30), target.reserved_usd()
