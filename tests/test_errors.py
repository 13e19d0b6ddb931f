"""Bad input gets a clear 4xx in OpenAI's error shape, and every response names its request and provider."""

import httpx
import pytest

from alltoken.accounts.keys import generate_key


@pytest.fixture(scope="module")
def key(demo_gateway):
    return demo_gateway.new_key()[1]


def post(gateway, key, body=None, content=None, headers=None):
    headers = {"Authorization": f"Bearer {key}", **(headers or {})} if key else headers or {}
    return httpx.post(gateway.url + "/v1/chat/completions", json=body, content=content, headers=headers, timeout=30)


def assert_error(response, status, code=None, param=None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param"} and error["message"]
    if code:
        assert error["code"] == code
    if param:
        assert error["param"] == param
    assert response.headers["x-request-id"].startswith("gen-")
    assert response.headers["x-alltoken-provider"] == "alltoken"
    return error


GOOD = {"model": "alltoken/demo", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer sk-not-ours", "Bearer atk_short"])
def test_missing_or_malformed_key_is_401(demo_gateway, header):
    response = post(demo_gateway, None, GOOD, headers={"Authorization": header} if header else {})
    assert_error(response, 401, "invalid_api_key")


def test_well_formed_but_unknown_key_is_401(demo_gateway):
    assert_error(post(demo_gateway, generate_key(), GOOD), 401, "invalid_api_key")


def test_a_one_character_typo_is_caught_by_the_checksum(demo_gateway, key):
    typo = key[:10] + ("A" if key[10] != "A" else "B") + key[11:]
    error = assert_error(post(demo_gateway, typo, GOOD), 401)
    assert "mistyped" in error["message"]


@pytest.mark.parametrize("body,param", [
    ({"messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": "alltoken/demo"}, "messages"),
    ({"model": "alltoken/demo", "messages": []}, "messages"),
    ({"model": 5, "messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": "alltoken/demo", "messages": ["hi"]}, "messages[0]"),
    ({"model": "alltoken/demo", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ({"model": "alltoken/demo", "messages": [{"role": "user"}]}, "messages[0].content"),
    ({"model": "alltoken/demo", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
    ({**GOOD, "max_tokens": 0}, "max_tokens"),
    ({**GOOD, "max_tokens": "ten"}, "max_tokens"),
    ({**GOOD, "stream": "yes"}, "stream"),
    ({**GOOD, "n": 1000}, "n"),
])
def test_missing_or_wrong_fields_are_400_naming_the_field(demo_gateway, key, body, param):
    assert_error(post(demo_gateway, key, body), 400, param=param)


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
def test_malformed_body_is_400(demo_gateway, key, content):
    assert_error(post(demo_gateway, key, content=content, headers={"Content-Type": "application/json"}), 400)


def test_oversized_body_is_413(demo_gateway, key):
    huge = b'{"model": "alltoken/demo", "messages": [{"role": "user", "content": "' + b"a" * (33 << 20) + b'"}]}'
    assert_error(post(demo_gateway, key, content=huge), 413, "request_too_large")


def test_unknown_model_is_404(demo_gateway, key):
    assert_error(post(demo_gateway, key, {**GOOD, "model": "acme/nope"}), 404, "model_not_found", "model")


def test_key_model_allow_list_is_403(demo_gateway):
    _, limited = demo_gateway.new_key(models="openai/gpt-4o")
    assert_error(post(demo_gateway, limited, GOOD), 403, "model_not_allowed")


def test_unknown_endpoint_and_wrong_method(demo_gateway):
    assert_error(httpx.get(demo_gateway.url + "/v1/nothing-here"), 404, "unknown_endpoint")
    assert_error(httpx.get(demo_gateway.url + "/v1/chat/completions"), 405, "method_not_allowed")


def test_generation_needs_an_id_and_stays_in_its_account(demo_gateway, key):
    served = post(demo_gateway, key, GOOD)
    rid = served.headers["x-request-id"]
    assert served.json()["id"] == rid and served.headers["x-alltoken-provider"] == "demo"
    auth = {"Authorization": f"Bearer {key}"}
    assert_error(httpx.get(demo_gateway.url + "/v1/generation", headers=auth), 400, param="id")
    record = httpx.get(demo_gateway.url + "/v1/generation", params={"id": rid}, headers=auth).json()["data"]
    usage = served.json()["usage"]
    assert record["tokens_prompt"] == usage["prompt_tokens"] and record["cost"] == usage["cost"]
    assert record["status"] == "ok" and record["provider"] == "demo" and record["model"] == "alltoken/demo"
    _, other = demo_gateway.new_key()
    assert_error(httpx.get(demo_gateway.url + "/v1/generation", params={"id": rid},
                           headers={"Authorization": f"Bearer {other}"}), 404)


def test_every_success_response_carries_the_headers(demo_gateway, key):
    auth = {"Authorization": f"Bearer {key}"}
    url = demo_gateway.url
    for response in (httpx.get(url + "/v1/models"), httpx.get(url + "/v1/credits", headers=auth),
                     httpx.get(url + "/v1/key", headers=auth), httpx.get(url + "/health/live")):
        assert response.status_code == 200
        assert response.headers["x-request-id"].startswith("gen-") and response.headers["x-alltoken-provider"]
