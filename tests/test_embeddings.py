"""POST /v1/embeddings with the official SDK (which asks for base64 by default) and raw floats."""

import math
from decimal import Decimal

import httpx
import pytest

from .pricing_helpers import catalog_prices


def test_sdk_default_base64_decodes_to_the_same_vectors_as_float(demo_gateway):
    _, key = demo_gateway.new_key()
    sdk = demo_gateway.sdk(key)
    texts = ["héllo wörld", "second input"]
    decoded = sdk.embeddings.create(model="alltoken/demo-embed", input=texts)
    floats = sdk.embeddings.create(model="alltoken/demo-embed", input=texts, encoding_format="float")
    assert [d.index for d in decoded.data] == [0, 1]
    for a, b in zip(decoded.data, floats.data):
        assert len(a.embedding) == 64 and a.embedding == pytest.approx(b.embedding, abs=1e-6)
    assert math.isclose(sum(v * v for v in floats.data[0].embedding), 1.0, rel_tol=1e-6)
    assert floats.data[0].embedding != floats.data[1].embedding
    usage = floats.usage
    assert usage.prompt_tokens == 4  # two words each
    assert Decimal(str(usage.model_extra["cost"])) == 4 * catalog_prices("alltoken/demo-embed")["prompt"]


def test_dimensions_and_token_inputs(demo_gateway):
    _, key = demo_gateway.new_key()
    response = httpx.post(demo_gateway.url + "/v1/embeddings", headers={"Authorization": f"Bearer {key}"},
                          json={"model": "alltoken/demo-embed", "input": [[1, 2, 3], [4]], "dimensions": 8,
                                "encoding_format": "float"})
    body = response.json()
    assert response.status_code == 200 and response.headers["x-alltoken-provider"] == "demo"
    assert [len(d["embedding"]) for d in body["data"]] == [8, 8] and body["usage"]["prompt_tokens"] == 4
    assert body["model"] == "alltoken/demo-embed"


@pytest.mark.parametrize("body,param", [
    ({"input": "x"}, "model"),
    ({"model": "alltoken/demo-embed"}, "input"),
    ({"model": "alltoken/demo-embed", "input": ""}, "input"),
    ({"model": "alltoken/demo-embed", "input": ["a", 3]}, "input"),
    ({"model": "alltoken/demo-embed", "input": "x", "encoding_format": "int8"}, "encoding_format"),
    ({"model": "alltoken/demo-embed", "input": "x", "dimensions": 0}, "dimensions"),
    ({"model": "alltoken/demo", "input": "x"}, "model"),
])
def test_bad_embedding_requests_are_400(demo_gateway, body, param):
    _, key = demo_gateway.new_key()
    response = httpx.post(demo_gateway.url + "/v1/embeddings", headers={"Authorization": f"Bearer {key}"}, json=body)
    assert response.status_code == 400 and response.json()["error"]["param"] == param


def test_chat_models_refuse_embeddings_and_embedding_models_refuse_chat(demo_gateway):
    _, key = demo_gateway.new_key()
    chat = httpx.post(demo_gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "alltoken/demo-embed", "messages": [{"role": "user", "content": "x"}]})
    assert chat.status_code == 400 and chat.json()["error"]["code"] == "wrong_model_kind"


def test_openai_embeddings_with_exact_cost_and_float_upstream(openai_gateway, upstream):
    account, key = openai_gateway.new_key()
    sdk = openai_gateway.sdk(key)
    result = sdk.embeddings.create(model="openai/text-embedding-3-small", input=["one two", "three"], dimensions=3)
    assert upstream.requests[-1] == {"model": "text-embedding-3-small", "input": ["one two", "three"],
                                     "dimensions": 3, "encoding_format": "float"}
    assert [d.embedding for d in result.data] == [[0.0, 7.0, 0.5], [1.0, 5.0, 0.5]]  # re-ordered by index
    price = catalog_prices("openai/text-embedding-3-small")["prompt"]
    assert result.usage.prompt_tokens == 3 and Decimal(str(result.usage.model_extra["cost"])) == 3 * price


def test_openai_embedding_failure_costs_nothing(openai_gateway, upstream):
    account, key = openai_gateway.new_key(usd="1")
    upstream.plan(status=429, error_type="requests", error_code="rate_limit_exceeded", headers={"retry-after": "3"})
    response = httpx.post(openai_gateway.url + "/v1/embeddings", headers={"Authorization": f"Bearer {key}"},
                          json={"model": "openai/text-embedding-3-small", "input": "x"})
    assert response.status_code == 429 and response.headers["retry-after"] == "3"
    assert openai_gateway.cli("credits", "balance", "--account", account)["balance_usd"] == "1.000000"


def test_an_openai_compatible_server_can_serve_embeddings(tmp_path, fake_openai):
    from .fakes.openai_upstream import API_KEY
    from .harness import Gateway

    fake_openai.reset()
    config = {"providers": [{"id": "local", "type": "openai_compatible", "base_url": fake_openai.base_url,
                             "api_key": API_KEY}],
              "models": [{"id": "local/embed", "kind": "embedding",
                          "routes": [{"provider": "local", "model": "nomic-embed", "pricing": {
                              "prompt": "0", "completion": "0"}}]}]}
    gateway = Gateway(tmp_path, config).start()
    try:
        _, key = gateway.new_key()
        sdk = gateway.sdk(key)
        result = sdk.embeddings.create(model="local/embed", input="hello there")
        assert result.data[0].embedding == [0.0, 11.0, 0.5] and result.usage.model_extra["cost"] == 0
    finally:
        gateway.stop()
