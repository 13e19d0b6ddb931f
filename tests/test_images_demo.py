"""The whole image flow offline, on the built-in demo provider: real pictures from Pillow, billed
exactly from the usage it reports; and the bounds a reservation takes cover that usage."""

import base64
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from alltoken.images.estimate import token_bounds
from alltoken.images.params import ImageRequest
from alltoken.pricing import Price, Usage, cost_units, worst_case_units
from alltoken.providers.demo.client import count_tokens
from alltoken.providers.demo.images import demo_usage
from alltoken.providers.image_base import ImageCall, ImageFile, images_usage

from .harness import wait_for
from .image_helpers import mask, picture, uploader
from .pricing_helpers import catalog_prices

MODEL = "alltoken/demo-image"
DEMO_PRICE = Price.from_usd_strings({k: str(v) for k, v in catalog_prices(MODEL).items()})


def decoded(item) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(item.b64_json)))


def expected_cost(usage) -> Decimal:
    price = catalog_prices(MODEL)
    details = usage.input_tokens_details
    return (details.text_tokens * price["prompt"] + details.image_tokens * price["input_image"]
            + usage.output_tokens * price["output_image"])


def test_generation_makes_real_pictures_and_bills_the_usage_exactly(demo_gateway):
    account, key = demo_gateway.new_key()
    response = demo_gateway.sdk(key).images.generate(model=MODEL, prompt="a red fox at dawn", n=2, size="320x192",
                                                     quality="high", moderation="low")
    pictures = [decoded(item) for item in response.data]
    assert [(p.format, p.size) for p in pictures] == [("PNG", (320, 192))] * 2
    assert pictures[0].tobytes() != pictures[1].tobytes()
    again = demo_gateway.sdk(key).images.generate(model=MODEL, prompt="a red fox at dawn", size="320x192")
    assert decoded(again.data[0]).tobytes() == pictures[0].tobytes()          # same prompt, same picture
    assert response.usage.input_tokens_details.text_tokens == count_tokens("a red fox at dawn")
    cost = expected_cost(response.usage) + expected_cost(again.usage)
    assert wait_for(lambda: demo_gateway.balance(account) == Decimal(10) - cost, timeout=3)


def test_an_edit_with_a_mask_changes_only_the_transparent_part(demo_gateway):
    _, key = uploader(demo_gateway)
    source = picture((64, 64), colour=(10, 200, 10))
    response = demo_gateway.sdk(key).images.edit(
        model=MODEL, prompt="paint it", image=[("a.png", source, "image/png"), ("b.jpg", picture(image_format="JPEG"),
                                                                             "image/jpeg")],
        mask=("m.png", mask((64, 64)), "image/png"), output_format="webp")
    edited = decoded(response.data[0]).convert("RGB")
    assert edited.format is None and edited.size == (64, 64)
    left, right = edited.getpixel((5, 32)), edited.getpixel((60, 32))
    assert left != right                                   # transparent left half edited, opaque right half kept
    assert response.usage.input_tokens_details.image_tokens == 3 * (65 + 129)     # two images and the mask


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")
def test_variations_work_offline(demo_gateway):
    _, key = uploader(demo_gateway)
    response = demo_gateway.sdk(key).images.create_variation(model=MODEL, image=("a.png", picture((48, 48)),
                                                                                  "image/png"), n=2)
    assert [decoded(item).size for item in response.data] == [(48, 48), (48, 48)]
    assert response.usage.cost > 0


@settings(max_examples=200, deadline=None)
@given(quality=st.sampled_from(["low", "medium", "high", "auto", None]),
       size=st.sampled_from(["256x256", "1024x1024", "1536x1024", "1024x1536", "2048x2048", "auto", None]),
       n=st.integers(1, 3), prompt=st.text(min_size=1, max_size=80).filter(str.strip), uploads=st.integers(0, 3))
def test_the_reservation_bounds_cover_what_the_demo_reports(quality, size, n, prompt, uploads):
    files = tuple(ImageFile(io.BytesIO(), 1, "PNG", 600, 300, False) for _ in range(uploads))   # sizes only
    params = {"model": "demo-image", "prompt": prompt, "n": n, **({"quality": quality} if quality else {}),
              **({"size": size} if size else {})}
    endpoint = "edits" if files else "generations"
    images, mask_file = (files[:-1], files[-1]) if len(files) > 1 else (files, None)   # the last one as the mask
    wanted = ImageRequest.parse(params)
    reported = demo_usage(ImageCall(endpoint, params, "gen-test", images, mask_file), count_tokens)
    usage = images_usage({"usage": reported, "data": [{}] * n}, size)
    prompt_bound, output_bound = token_bounds(wanted, files)
    assert usage.prompt_tokens <= prompt_bound and usage.completion_tokens <= output_bound
    price = DEMO_PRICE
    assert cost_units(price, usage) <= worst_case_units(price, prompt_bound, output_bound, n, size)


def test_per_image_prices_by_size_and_image_tokens_at_their_own_rates():
    price = Price.from_usd_strings({"prompt": "0.000005", "completion": "0.00001", "input_image": "0.00001",
                                    "output_image": "0.00004", "image": "0.02", "image_256x256": "0.016"})
    assert price.as_usd_strings()["image_256x256"] == "0.016"
    assert price.marked_up(1000).per_image("256x256") == 17_600_000_000
    usage = images_usage({"data": [{}, {}], "usage": {
        "input_tokens": 110, "input_tokens_details": {"text_tokens": 10, "image_tokens": 100},
        "output_tokens": 1007, "output_tokens_details": {"image_tokens": 1000, "text_tokens": 7}}}, "256x256")
    assert usage == Usage(prompt_tokens=110, completion_tokens=1007, image_input_tokens=100, image_output_tokens=1000,
                          images=2, image_size="256x256")
    units = 10 * 5_000_000 + 100 * 10_000_000 + 7 * 10_000_000 + 1000 * 40_000_000 + 2 * 16_000_000_000
    assert cost_units(price, usage) == units
    assert worst_case_units(price, 0, 0, images=3) == 3 * 20_000_000_000       # no size: the dearest image price
    with pytest.raises(ValueError):
        Price.from_usd_strings({"prompt": "0", "completion": "0", "image_big": "1"})
