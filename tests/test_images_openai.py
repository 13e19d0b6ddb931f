"""The Images API through the OpenAI provider, against a fake upstream that keeps what it received:
the moderation level arrives byte-identical (and not at all when omitted), edits carry several
images and the mask as OpenAI expects, variations work, and the cost is exact to the unit."""

import base64
from decimal import Decimal

import httpx
import openai
import orjson
import pytest

from alltoken.money import usd_to_units

from .harness import wait_for
from .image_helpers import images_gateway, mask, moderation_records, picture, uploader
from .pricing_helpers import catalog_prices


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_openai_images):
    gateway = images_gateway(tmp_path_factory.mktemp("images-openai"), fake_openai_images)
    yield gateway
    gateway.stop()



def post(gateway, key, path, **kwargs) -> httpx.Response:
    return httpx.post(gateway.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=30, **kwargs)


ODD_LEVELS = ["LOW", " low", "lоw", "auto\u0000", "🙂 niedrig", "", "a" * 100, "low\n", "\"quoted\" \\ back"]


@pytest.mark.parametrize("level", ["auto", "low", *ODD_LEVELS])
def test_the_moderation_level_arrives_byte_identical_and_is_logged_as_sent(gateway, images_upstream, level):
    account, key = gateway.new_key()
    request = {"model": "openai/gpt-image-2", "prompt": "a lighthouse", "moderation": level, "size": "1024x1024"}
    response = post(gateway, key, "/v1/images/generations", json=request)
    (received,) = images_upstream.received
    forwarded = received.json
    assert forwarded["moderation"].encode() == level.encode()
    assert forwarded == {**request, "model": "gpt-image-2"}            # nothing else changed, dropped or added
    if level in ("auto", "low"):
        assert response.status_code == 200 and response.json()["data"]
    else:  # the provider judges the level, not AllToken: its refusal comes back as it was given
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "moderation" and level in response.json()["error"]["message"]
    assert moderation_records(gateway, account) == [(response.headers["x-request-id"], level, "openai/gpt-image-2")]


def test_the_sdk_level_goes_through_and_an_omitted_one_stays_absent(gateway, images_upstream):
    account, key = gateway.new_key()
    sdk = gateway.sdk(key)
    sdk.images.generate(model="openai/gpt-image-1", prompt="a fox", moderation="low")
    sdk.images.generate(model="openai/gpt-image-1", prompt="a fox")
    with_level, without = images_upstream.received
    assert with_level.json["moderation"] == "low"
    assert "moderation" not in without.json and without.json == {"model": "gpt-image-1", "prompt": "a fox"}
    assert [level for _, level, _ in moderation_records(gateway, account)] == ["low", None]


@pytest.mark.parametrize("model,path", [("openai/dall-e-2", "/v1/images/generations"),
                                        ("openai/gpt-image-1", "/v1/images/edits")])
def test_a_model_without_the_parameter_refuses_it_rather_than_dropping_it(gateway, images_upstream, model, path):
    account, key = uploader(gateway)
    if path.endswith("generations"):
        response = post(gateway, key, path, json={"model": model, "prompt": "a fox", "moderation": "low"})
    else:
        response = post(gateway, key, path, data={"model": model, "prompt": "a fox", "moderation": "low"},
                        files={"image": ("a.png", picture(), "image/png")})
    error = response.json()["error"]
    assert response.status_code == 400 and error["param"] == "moderation" and error["code"] == "unsupported_parameter"
    assert model in error["message"] and "remove 'moderation'" in error["message"]
    assert images_upstream.received == [] and moderation_records(gateway, account) == []
    assert gateway.recorded_statuses(account) == []


def test_an_edit_sends_several_images_and_the_mask_as_openai_expects(gateway, images_upstream):
    account, key = uploader(gateway)
    sources = [picture((64, 64), "PNG"), picture((32, 48), "JPEG"), picture((40, 40), "WEBP")]
    response = gateway.sdk(key).images.edit(
        model="openai/gpt-image-1", prompt="put them in one room", n=2, size="1024x1536", quality="high",
        image=[("one.png", sources[0], "image/png"), ("two.jpg", sources[1], "image/jpeg"),
               ("three.webp", sources[2], "image/webp")],
        mask=("mask.png", mask((64, 64)), "image/png"))
    (received,) = images_upstream.received
    assert received.endpoint == "edits"
    assert dict(received.fields) == {"model": "gpt-image-1", "prompt": "put them in one room", "n": "2",
                                     "size": "1024x1536", "quality": "high"}
    assert [(f.name, f.content_type, f.data) for f in received.files] == [
        ("image[]", "image/png", sources[0]), ("image[]", "image/jpeg", sources[1]),
        ("image[]", "image/webp", sources[2]), ("mask", "image/png", mask((64, 64)))]
    assert len(response.data) == 2 and response.usage.input_tokens_details.image_tokens == 4 * 323
    assert len(moderation_records(gateway, account)) == 1


def test_one_image_goes_as_image_and_repeated_image_parts_as_image_brackets(gateway, images_upstream):
    _, key = uploader(gateway)
    single = post(gateway, key, "/v1/images/edits", data={"model": "openai/gpt-image-1", "prompt": "x"},
                  files={"image": ("photo.bin", picture(), "application/octet-stream")})
    repeated = post(gateway, key, "/v1/images/edits", data={"model": "openai/gpt-image-1", "prompt": "x"},
                    files=[("image", ("a.png", picture(), "image/png")), ("image", ("b.png", picture(), "image/png"))])
    assert single.status_code == repeated.status_code == 200
    first, second = images_upstream.received
    assert [(f.name, f.filename, f.content_type) for f in first.files] == [("image", "image_0.png", "image/png")]
    assert [f.name for f in second.files] == ["image[]", "image[]"]


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")   # the SDK marks variations (dall-e-2) deprecated
def test_variations_with_dall_e_2_cost_the_per_image_price_of_their_size(gateway, images_upstream):
    account, key = uploader(gateway)
    source = picture((256, 256))
    response = gateway.sdk(key).images.create_variation(
        model="openai/dall-e-2", image=("source.png", source, "image/png"), n=3, size="256x256",
        response_format="b64_json")
    (received,) = images_upstream.received
    assert received.endpoint == "variations"
    assert dict(received.fields) == {"model": "dall-e-2", "n": "3", "size": "256x256", "response_format": "b64_json"}
    assert [(f.name, f.data) for f in received.files] == [("image", source)]
    assert len(response.data) == 3 and base64.b64decode(response.data[0].b64_json).startswith(b"\x89PNG")
    expected = 3 * catalog_prices("openai/dall-e-2")["image_256x256"]
    assert _generation(gateway, key, response)["cost_usd"] == f"{expected:.6f}"
    assert wait_for(lambda: gateway.balance(account) == Decimal(10) - expected, timeout=3)


def test_dall_e_2_urls_pass_through_and_its_default_size_costs_the_image_price(gateway, images_upstream):
    _, key = gateway.new_key()
    response = post(gateway, key, "/v1/images/generations", json={"model": "openai/dall-e-2", "prompt": "a fox",
                                                                   "n": 2, "response_format": "url"})
    assert response.status_code == 200
    assert [item["url"] for item in response.json()["data"]] == ["https://images.fake/0.png", "https://images.fake/1.png"]
    assert "usage" not in response.json()          # dall-e reports none; the generation record has the cost
    record = _generation(gateway, key, response)
    assert record["cost_usd"] == f"{2 * catalog_prices('openai/dall-e-2')['image']:.6f}"
    assert record["endpoint"] == "images.generations" and record["status"] == "ok"


def test_a_gpt_image_model_gets_no_response_format_and_refuses_urls(gateway, images_upstream):
    _, key = gateway.new_key()
    ok = post(gateway, key, "/v1/images/generations",
              json={"model": "openai/gpt-image-1", "prompt": "a fox", "response_format": "b64_json"})
    assert ok.status_code == 200 and "response_format" not in images_upstream.received[0].json
    refused = post(gateway, key, "/v1/images/generations",
                   json={"model": "openai/gpt-image-1", "prompt": "a fox", "response_format": "url"})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "response_format"
    assert len(images_upstream.received) == 1


@pytest.mark.parametrize("model,text_out,details", [("openai/gpt-image-1", 0, True), ("openai/gpt-image-2", 7, True),
                                                    ("openai/gpt-image-1-mini", 0, False)])
def test_token_billed_models_cost_exactly_what_their_usage_says(gateway, images_upstream, model, text_out, details):
    account, key = uploader(gateway)
    images_upstream.plan(text_tokens=13, image_tokens_per_input=517, output_tokens_per_image=1056,
                  output_text_tokens=text_out, output_details=details)
    images = [("a.png", picture(), "image/png"), ("b.png", picture(), "image/png")]
    response = gateway.sdk(key).images.edit(model=model, prompt="blue sky", n=2, quality="medium", image=images)
    price = catalog_prices(model)
    image_out = 2 * 1056
    expected = (13 * price["prompt"] + 2 * 517 * price["input_image"] + text_out * price["completion"]
                + image_out * price["output_image"])
    assert response.usage.input_tokens == 13 + 2 * 517
    assert usd_to_units(str(Decimal(repr(response.usage.cost)))) == usd_to_units(str(expected))
    record = _generation(gateway, key, response)
    assert Decimal(record["cost_usd"]) == expected
    assert (record["tokens_prompt"], record["tokens_completion"]) == (13 + 2 * 517, image_out + text_out)
    assert wait_for(lambda: gateway.balance(account) == Decimal(10) - expected, timeout=3)


def test_a_failed_upstream_call_costs_nothing_and_still_leaves_its_moderation_record(gateway, images_upstream):
    account, key = gateway.new_key()
    images_upstream.plan(status=500)
    with pytest.raises(openai.APIStatusError) as failure:
        gateway.sdk(key).images.generate(model="openai/gpt-image-1", prompt="a fox", moderation="auto")
    assert failure.value.status_code == 502
    rid = failure.value.response.headers["x-request-id"]
    assert moderation_records(gateway, account) == [(rid, "auto", "openai/gpt-image-1")]
    assert wait_for(lambda: gateway.recorded_statuses(account) == ["error"], timeout=3)
    credits = httpx.get(gateway.url + "/v1/credits", headers={"Authorization": f"Bearer {key}"}).json()["data"]
    assert credits["reserved_usd"] == "0.000000" and gateway.balance(account) == Decimal(10)


def test_a_request_the_balance_cannot_cover_is_refused_before_the_provider_is_called(gateway, images_upstream):
    account, key = gateway.new_key("0.01")
    response = post(gateway, key, "/v1/images/generations",
                    json={"model": "openai/gpt-image-1", "prompt": "a fox", "n": 10, "quality": "high",
                          "size": "1536x1024", "moderation": "low"})
    error = response.json()["error"]
    assert response.status_code == 402 and "10 image(s)" in error["message"] and "fewer images" in error["message"]
    assert images_upstream.received == [] and moderation_records(gateway, account) == []


@pytest.mark.parametrize("body,param", [
    ({"prompt": "a fox"}, "model"), ({"model": "openai/gpt-image-1"}, "prompt"),
    ({"model": "openai/gpt-image-1", "prompt": "x", "n": 11}, "n"),
    ({"model": "openai/gpt-image-1", "prompt": "x", "n": True}, "n"),
    ({"model": "openai/gpt-image-1", "prompt": "x", "moderation": 1}, "moderation"),
    ({"model": "openai/gpt-image-1", "prompt": "x", "moderation": "a" * 101}, "moderation"),
    ({"model": "openai/dall-e-2", "prompt": "x", "stream": True}, "stream"),
    ({"model": "openai/gpt-image-1", "prompt": "x", "stream": True, "n": 2}, "n"),
    ({"model": "openai/gpt-4o-mini", "prompt": "x"}, "model"),
    ({"model": "openai/dall-e-2", "prompt": "x", "size": 5}, "size"),
])
def test_bad_parameters_get_a_400_that_names_them(gateway, images_upstream, body, param):
    _, key = gateway.new_key()
    response = post(gateway, key, "/v1/images/generations", json=body)
    assert response.status_code == 400 and response.json()["error"]["param"] == param
    assert images_upstream.received == []


def test_an_image_model_cannot_serve_chat_and_variations_need_a_model_that_has_them(gateway, images_upstream):
    _, key = uploader(gateway)
    chat = post(gateway, key, "/v1/chat/completions",
                json={"model": "openai/gpt-image-1", "messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code == 400 and "is an image model" in chat.json()["error"]["message"]
    variation = post(gateway, key, "/v1/images/variations", data={"model": "openai/gpt-image-1"},
                     files={"image": ("a.png", picture(), "image/png")})
    assert variation.status_code == 400 and variation.json()["error"]["code"] == "unsupported_endpoint"


def test_models_list_image_prices_per_token_and_per_image(gateway):
    models = {m["id"]: m for m in httpx.get(gateway.url + "/v1/models").json()["data"]}
    assert models["openai/gpt-image-1"]["kind"] == "image"
    assert models["openai/gpt-image-1"]["pricing"]["output_image"] == "0.00004"
    assert models["openai/dall-e-2"]["pricing"]["image"] == "0.02"
    assert models["openai/dall-e-2"]["pricing"]["image_256x256"] == "0.016"


def _generation(gateway, key, response) -> dict:
    rid = response.headers["x-request-id"] if isinstance(response, httpx.Response) else response._request_id
    return httpx.get(gateway.url + "/v1/generation", params={"id": rid},
                     headers={"Authorization": f"Bearer {key}"}).json()["data"]


def test_the_response_is_the_upstream_answer_with_its_cost(gateway, images_upstream):
    _, key = gateway.new_key()
    response = post(gateway, key, "/v1/images/generations", json={"model": "openai/gpt-image-1", "prompt": "x"})
    body = response.json()
    assert set(body) == {"created", "background", "output_format", "quality", "size", "data", "usage"}
    assert body["usage"]["cost"] > 0 and response.headers["x-alltoken-provider"] == "openai"
    assert orjson.loads(response.content)["data"][0]["b64_json"]
