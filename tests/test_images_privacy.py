"""A canary prompt and the image bytes (uploaded and generated) reach the provider and the client,
and nothing else: not the database, not the gateway's log, not /metrics."""

import base64

import httpx

from .fakes.openai_images import png
from .image_helpers import images_gateway, mask, picture, uploader

PROMPT_CANARY = "CANARY-IMAGE-PROMPT-5e1f0c27"
UPLOAD_CANARY = "CANARY-UPLOAD-BYTES-93ad7b10"
OUTPUT_CANARY = "CANARY-OUTPUT-BYTES-d04c61f2"


def test_prompts_and_image_bytes_appear_nowhere_but_upstream_and_in_the_answer(tmp_path, fake_openai_images):
    fake_openai_images.reset()
    generated = png(text={"Comment": OUTPUT_CANARY})
    uploaded = picture((64, 64), text={"Comment": UPLOAD_CANARY})
    fake_openai_images.default.image = generated
    gateway = images_gateway(tmp_path, fake_openai_images)
    try:
        _, key = uploader(gateway)
        sdk = gateway.sdk(key)
        made = sdk.images.generate(model="openai/gpt-image-1", prompt=f"draw {PROMPT_CANARY}", moderation="low")
        edited = sdk.images.edit(model="openai/gpt-image-1", prompt=f"edit {PROMPT_CANARY}",
                                 image=[("a.png", uploaded, "image/png"), ("b.png", uploaded, "image/png")],
                                 mask=("m.png", mask(), "image/png"))
        fake_openai_images.plan(status=500)
        httpx.post(gateway.url + "/v1/images/generations", headers={"Authorization": f"Bearer {key}"},
                   json={"model": "openai/gpt-image-1", "prompt": f"fail {PROMPT_CANARY}"})
        httpx.post(gateway.url + "/v1/images/edits", headers={"Authorization": f"Bearer {key}"},   # refused: 400
                   data={"model": "openai/gpt-image-1", "prompt": f"bad {PROMPT_CANARY}"},
                   files={"image": ("a.png", uploaded, "image/png"), "mask": ("m.png", mask((8, 8)), "image/png")})
        metrics = httpx.get(gateway.url + "/metrics").content
        assert base64.b64decode(made.data[0].b64_json) == generated
        assert base64.b64decode(edited.data[0].b64_json) == generated
        sent = fake_openai_images.received
        assert PROMPT_CANARY in sent[0].json["prompt"] and sent[1].files[0].data == uploaded   # it did go upstream
    finally:
        assert gateway.stop() == 0
        fake_openai_images.default.image = png()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("alltoken.db*"))
    assert b"image_moderation_log" in stored and len(stored) > 10_000
    logs = gateway.log().encode()
    secrets = [PROMPT_CANARY.encode(), UPLOAD_CANARY.encode(), OUTPUT_CANARY.encode(),
               _base64_middle(generated), _base64_middle(uploaded)]
    for secret in secrets:
        assert secret not in stored
        assert secret not in logs
        assert secret not in metrics


def _base64_middle(data: bytes) -> bytes:
    """A stretch of the image's base64 that any copy of it, as base64, contains."""
    encoded = base64.b64encode(data)
    return encoded[len(encoded) // 2 - 20: len(encoded) // 2 + 20]
