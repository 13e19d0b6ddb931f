"""Streamed image requests: partial images relayed as they come, the completed image last with the
request's cost; a broken stream costs nothing; a client that leaves early pays the reservation bounds."""

from decimal import Decimal

import httpx
import openai
import pytest

from .harness import wait_for
from .image_helpers import db_rows, images_gateway, moderation_records, picture, uploader
from .pricing_helpers import catalog_prices


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_openai_images):
    gateway = images_gateway(tmp_path_factory.mktemp("images-stream"), fake_openai_images)
    yield gateway
    gateway.stop()


def cost_of(gateway, rid: str) -> tuple[str, str, int]:
    def read():
        rows = db_rows(gateway, "SELECT status, cost_units, streamed FROM usage_records WHERE id = ?", rid)
        return rows[0] if rows else None
    status, units, streamed = wait_for(read, timeout=3)
    return status, Decimal(units) / 10**12, streamed


def test_partial_images_stream_through_and_the_completed_one_carries_the_cost(gateway, images_upstream):
    account, key = gateway.new_key()
    images_upstream.plan(text_tokens=9, output_tokens_per_image=4160)
    stream = gateway.sdk(key).images.generate(model="openai/gpt-image-1", prompt="a fox", stream=True,
                                              partial_images=2, moderation="low", quality="high")
    events = list(stream)
    assert [e.type for e in events] == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    assert [e.partial_image_index for e in events[:2]] == [0, 1]
    (received,) = images_upstream.received
    assert received.json == {"model": "gpt-image-1", "prompt": "a fox", "stream": True, "partial_images": 2,
                             "moderation": "low", "quality": "high"}
    price = catalog_prices("openai/gpt-image-1")
    expected = 9 * price["prompt"] + 4160 * price["output_image"]
    completed = events[-1]
    assert Decimal(repr(completed.usage.model_extra["cost"])) == expected
    rid = stream.response.headers["x-request-id"]
    assert cost_of(gateway, rid) == ("ok", expected, 1)
    assert moderation_records(gateway, account) == [(rid, "low", "openai/gpt-image-1")]


def test_a_streamed_edit_on_the_demo_provider(demo_gateway):
    account, key = uploader(demo_gateway)
    stream = demo_gateway.sdk(key).images.edit(model="alltoken/demo-image", prompt="tint it", stream=True,
                                               partial_images=1, image=("a.png", picture((48, 48)), "image/png"))
    events = list(stream)
    assert [e.type for e in events] == ["image_edit.partial_image", "image_edit.completed"]
    usage = events[-1].usage
    price = catalog_prices("alltoken/demo-image")
    expected = (usage.input_tokens_details.text_tokens * price["prompt"]
                + usage.input_tokens_details.image_tokens * price["input_image"]
                + usage.output_tokens * price["output_image"])
    assert Decimal(repr(usage.model_extra["cost"])) == expected
    assert wait_for(lambda: demo_gateway.balance(account) == Decimal(10) - expected, timeout=3)


def test_a_stream_that_breaks_costs_nothing(gateway, images_upstream):
    account, key = gateway.new_key()
    images_upstream.plan(fail_mid_stream=True)
    stream = gateway.sdk(key).images.generate(model="openai/gpt-image-1", prompt="x", stream=True, partial_images=1)
    with pytest.raises(openai.APIError):
        list(stream)
    rid = stream.response.headers["x-request-id"]
    assert cost_of(gateway, rid)[:2] == ("error", 0)
    assert len(moderation_records(gateway, account)) == 1
    assert gateway.balance(account) == Decimal(10)


def test_a_failure_before_the_first_event_is_a_plain_http_error(gateway, images_upstream):
    _, key = gateway.new_key()
    images_upstream.plan(status=500)
    with pytest.raises(openai.APIStatusError) as failure:
        list(gateway.sdk(key).images.generate(model="openai/gpt-image-1", prompt="x", stream=True))
    assert failure.value.status_code == 502


def test_a_client_that_leaves_early_pays_the_reservation_bounds(gateway, images_upstream):
    _, key = gateway.new_key()
    images_upstream.plan(event_delay=0.5)
    with httpx.stream("POST", gateway.url + "/v1/images/generations", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "openai/gpt-image-1", "prompt": "x", "stream": True, "partial_images": 3}) as r:
        rid = r.headers["x-request-id"]
        next(r.iter_lines())                       # the first partial image, then gone
    price = catalog_prices("openai/gpt-image-1")
    output_bound = 12_583                          # 1536x1024 (size auto) at 8,000 tokens per megapixel
    assert cost_of(gateway, rid)[:2] == ("cancelled", 1 * price["prompt"] + output_bound * price["output_image"])
