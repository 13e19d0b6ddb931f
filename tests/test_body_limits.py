"""Request bodies are limited while they arrive, on every route: a chunked body (no Content-Length) over the
limit gets a 413 in the route's error shape, and the server's peak memory stays near where it was (read from
/proc/<pid>/status of the gateway process: VmHWM after clearing it, against VmRSS before)."""

import json
import socket
from pathlib import Path

import httpx
import pytest

from alltoken.http.body_limit import API_BODY_BYTES
from alltoken.http.plumbing import MAX_BODY_BYTES

MIB = 1024 * 1024
SENT = 160 * MIB     # what the client offers: several times every limit


@pytest.fixture(scope="module")
def key(demo_gateway):
    return demo_gateway.new_key()[1]


def chunked(total: int):
    """A body httpx sends with Transfer-Encoding: chunked, as a generator has no length."""
    piece = b"x" * MIB
    for _ in range(total // MIB):
        yield piece


def memory_kb(gateway, field: str) -> int:
    status = Path(f"/proc/{gateway.process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith(field + ":")).split()[1])


def peak_growth_mib(gateway, send) -> tuple[httpx.Response, float]:
    """The response to `send()`, and how far the gateway's peak resident memory rose above where it was."""
    Path(f"/proc/{gateway.process.pid}/clear_refs").write_text("5")    # the peak starts again from now
    before = memory_kb(gateway, "VmRSS")
    response = send()
    return response, (memory_kb(gateway, "VmHWM") - before) / 1024


@pytest.mark.parametrize("path, limit, authorized", [
    ("/api/auth/login", API_BODY_BYTES, False),            # unauthenticated: was read whole (1.1 GB for 300 MB)
    ("/v1/chat/completions", MAX_BODY_BYTES, True),        # was read whole before its 32 MB check
    ("/v1/embeddings", MAX_BODY_BYTES, True),
])
def test_a_chunked_body_over_the_limit_is_refused_while_it_arrives(demo_gateway, key, path, limit, authorized):
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {key}"} if authorized else {})}
    response, growth = peak_growth_mib(demo_gateway, lambda: httpx.post(
        demo_gateway.url + path, content=chunked(SENT), headers=headers, timeout=120))
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "request_too_large" and str(limit) in error["message"]
    assert response.headers["x-request-id"]
    # The body is never held past its limit (plus the server's own working memory).
    assert growth < limit / MIB + 48, f"peak memory rose {growth:.0f} MiB"


def test_on_v1_messages_the_413_is_in_anthropics_shape(demo_gateway, key):
    response, growth = peak_growth_mib(demo_gateway, lambda: httpx.post(
        demo_gateway.url + "/v1/messages", content=chunked(SENT), timeout=120,
        headers={"content-type": "application/json", "x-api-key": key}))
    assert response.status_code == 413
    assert response.json() == {"type": "error", "error": {"type": "request_too_large",
                                                          "message": response.json()["error"]["message"]}}
    assert growth < MAX_BODY_BYTES / MIB + 48, f"peak memory rose {growth:.0f} MiB"


def test_a_declared_length_over_the_limit_is_refused_before_reading(demo_gateway):
    """Nothing is read: the answer comes back though the client sends only the headers it announced a body with."""
    with socket.create_connection(("127.0.0.1", demo_gateway.port), timeout=30) as raw:
        raw.sendall(b"POST /api/auth/signup HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
                    + f"content-length: {API_BODY_BYTES + 1}\r\n\r\n".encode())
        answer = raw.makefile("rb").read()
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["error"]["code"] == "request_too_large"


def test_bodies_within_the_limits_still_work(demo_gateway, key):
    """The limit is the route's: a /v1 body above the management API's limit is fine there."""
    padding = "x" * (2 * API_BODY_BYTES)
    body = {"model": "alltoken/demo", "messages": [{"role": "user", "content": padding}], "max_tokens": 5}
    answer = httpx.post(demo_gateway.url + "/v1/chat/completions", json=body, timeout=60,
                        headers={"authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    login = httpx.post(demo_gateway.url + "/api/auth/login", json={"email": "nobody@example.com",
                                                                    "password": "a wrong password"}, timeout=30)
    assert login.status_code == 401
