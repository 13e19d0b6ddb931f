"""Uploads to /v1/images/edits and /variations: type judged by content, size limits (413), the mask
checked against the image, memory bounded for large uploads, and no temporary file left behind."""

import io
import os
from pathlib import Path

import httpx
import pytest
from PIL import Image

from .image_helpers import images_gateway, mask, noise_png, picture, uploader

LIMITS = {"max_image_bytes": 300_000, "max_mask_bytes": 100_000, "max_images": 3, "max_request_bytes": 2_000_000}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_openai_images):
    workdir = tmp_path_factory.mktemp("images-uploads")
    (workdir / "tmp").mkdir()
    gateway = images_gateway(workdir, fake_openai_images, env={"TMPDIR": str(workdir / "tmp")}, **LIMITS)
    yield gateway
    gateway.stop()



@pytest.fixture(scope="module")
def key(gateway):
    return uploader(gateway)[1]


def edit(gateway, key, files, data=None, path="/v1/images/edits") -> httpx.Response:
    return httpx.post(gateway.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=30,
                      data={"model": "openai/gpt-image-1", "prompt": "make it blue", **(data or {})}, files=files)


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize("content,name,declared", [
    (gif(), "photo.png", "image/png"),                         # a GIF that says it is a PNG
    (b"%PDF-1.7 not an image at all", "scan.png", "image/png"),
    (picture()[:40], "cut.png", "image/png"),                  # a PNG cut short in its header
    (b"", "empty.png", "image/png"),
])
def test_an_upload_is_judged_by_its_content_not_its_name(gateway, key, images_upstream, content, name, declared):
    response = edit(gateway, key, {"image": (name, content, declared)})
    error = response.json()["error"]
    assert response.status_code == 400 and error["param"] == "image"
    assert "PNG, JPEG or WebP" in error["message"] or "empty" in error["message"]
    assert images_upstream.received == []


def test_a_real_image_with_a_lying_name_and_type_is_sent_as_what_it_is(gateway, key, images_upstream):
    jpeg = picture(image_format="JPEG")
    assert edit(gateway, key, {"image": ("picture.png", jpeg, "image/png")}).status_code == 200
    (part,) = images_upstream.received[0].files
    assert (part.content_type, part.filename, part.data) == ("image/jpeg", "image_0.jpg", jpeg)


@pytest.mark.parametrize("files,fragment", [
    ({"image": ("big.png", noise_png(330), "image/png")}, "'image' is"),
    ({"image": ("a.png", picture(), "image/png"), "mask": ("m.png", noise_png(200), "image/png")}, "'mask' is"),
])
def test_an_image_or_mask_over_its_limit_is_a_413(gateway, key, images_upstream, files, fragment):
    response = edit(gateway, key, files)
    assert response.status_code == 413 and fragment in response.json()["error"]["message"]
    assert response.json()["error"]["code"] == "request_too_large" and images_upstream.received == []


def test_a_body_over_the_request_limit_is_a_413_without_being_read(gateway, key, images_upstream):
    body = b"x" * (LIMITS["max_request_bytes"] + 1)
    response = httpx.post(gateway.url + "/v1/images/edits", content=body, timeout=30,
                          headers={"Authorization": f"Bearer {key}",
                                   "Content-Type": "multipart/form-data; boundary=zzz"})
    assert response.status_code == 413 and images_upstream.received == []


def test_a_streamed_body_over_the_limit_stops_at_the_limit(gateway, key, images_upstream):
    def chunks():
        boundary_start = b"--zzz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n"
        yield boundary_start
        for _ in range(40):
            yield b"\0" * 100_000           # 4 MB, no Content-Length: only counting can stop it

    response = httpx.post(gateway.url + "/v1/images/edits", content=chunks(), timeout=30,
                          headers={"Authorization": f"Bearer {key}",
                                   "Content-Type": "multipart/form-data; boundary=zzz"})
    assert response.status_code == 413 and images_upstream.received == []


@pytest.mark.parametrize("mask_bytes,fragment", [
    (mask((32, 32)), "is 32x32 but the image it applies to (the first) is 64x64"),
    (mask((64, 64), alpha=False), "has no alpha channel"),
    (picture((64, 64), "WEBP", mode="RGBA"), "must be a PNG"),
])
def test_a_mask_that_does_not_fit_the_image_gets_a_clear_400(gateway, key, images_upstream, mask_bytes, fragment):
    response = edit(gateway, key, {"image": ("a.png", picture((64, 64)), "image/png"),
                                   "mask": ("m.png", mask_bytes, "image/png")})
    error = response.json()["error"]
    assert response.status_code == 400 and error["param"] == "mask" and fragment in error["message"]
    assert images_upstream.received == []


def test_the_mask_is_checked_against_the_first_image_as_it_is_displayed(gateway, key, images_upstream):
    """A JPEG stored 48x64 with EXIF orientation 6 (rotated) is displayed 64x48."""
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.new("RGB", (48, 64)).save(out, "JPEG", exif=exif.tobytes())
    files = {"image": ("a.jpg", out.getvalue(), "image/jpeg"), "mask": ("m.png", mask((64, 48)), "image/png")}
    assert edit(gateway, key, files).status_code == 200


@pytest.mark.parametrize("files,data,param", [
    ([("n", (None, "1"))], {}, "image"),                                     # multipart, but no image
    ([("image", ("a.png", picture(), "image/png"))] * 4, {}, "image"),       # over max_images (3)
    ([("image", ("a.png", picture(), "image/png")), ("mask", ("m.png", mask(), "image/png")),
      ("mask", ("m.png", mask(), "image/png"))], {}, "mask"),
    ([("image", ("a.png", picture(), "image/png")), ("picture", ("b.png", picture(), "image/png"))], {}, "picture"),
    ([("image", ("a.png", picture(), "image/png"))], {"image": "not a file"}, "image"),
    ([("image", ("a.png", picture(), "image/png")), ("n", (None, "2"))], {"n": "1"}, "n"),   # a field twice
])
def test_missing_extra_misnamed_or_repeated_parts_get_a_400_that_names_them(gateway, key, images_upstream, files, data,
                                                                              param):
    response = edit(gateway, key, files, data)
    assert response.status_code == 400 and response.json()["error"]["param"] == param, response.text
    assert images_upstream.received == []


def test_an_edit_must_be_multipart_and_a_variation_takes_one_image_and_no_mask(gateway, key, images_upstream):
    as_json = httpx.post(gateway.url + "/v1/images/edits", headers={"Authorization": f"Bearer {key}"},
                         json={"model": "openai/gpt-image-1", "prompt": "x"})
    assert as_json.status_code == 400 and "multipart/form-data" in as_json.json()["error"]["message"]
    two = [("image", ("a.png", picture(), "image/png"))] * 2
    variation = edit(gateway, key, two, {"model": "openai/dall-e-2"}, path="/v1/images/variations")
    assert variation.status_code == 400 and "exactly one" in variation.json()["error"]["message"]
    masked = edit(gateway, key, {"image": ("a.png", picture(), "image/png"), "mask": ("m.png", mask(), "image/png")},
                  {"model": "openai/dall-e-2"}, path="/v1/images/variations")
    assert masked.status_code == 400 and masked.json()["error"]["param"] == "mask"
    assert images_upstream.received == []


def test_no_temporary_file_stays_open_or_on_disk(gateway, key, images_upstream):
    """Uploads past 1 MB are spooled to a temporary file; after the request none is left."""
    big = noise_png(290)  # ~250 KB: under the image limit
    files = [("image[]", ("a.png", big, "image/png")), ("image[]", ("b.png", big, "image/png")),
             ("image[]", ("c.png", big, "image/png"))]
    assert edit(gateway, key, files).status_code == 200
    assert edit(gateway, key, {"image": ("big.png", noise_png(330), "image/png")}).status_code == 413
    assert images_upstream.received[0].files[2].data == big
    tmp = gateway.workdir / "tmp"
    assert list(tmp.iterdir()) == []
    assert _open_temporary_files(gateway.process.pid, tmp) == []


def _open_temporary_files(pid: int, tmp: Path) -> list[str]:
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(tmp)) or "(deleted)" in target:
            found.append(target)
    return found


def test_memory_stays_bounded_while_a_large_upload_streams_through(tmp_path, fake_openai_images):
    fake_openai_images.reset()
    gateway = images_gateway(tmp_path, fake_openai_images)
    try:
        _, key = uploader(gateway)
        assert edit(gateway, key, {"image": ("warm.png", picture(), "image/png")}).status_code == 200
        large = noise_png(2900)   # ~25 MB
        before = _reset_peak_rss(gateway.process.pid)
        response = edit(gateway, key, {"image": ("large.png", large, "image/png")})
        grew = _memory(gateway.process.pid, "VmHWM") - before
        assert response.status_code == 200 and fake_openai_images.received[-1].files[0].data == large
        assert grew < len(large) // 3, f"peak memory grew by {grew} bytes for a {len(large)}-byte upload"
    finally:
        gateway.stop()


def _reset_peak_rss(pid: int) -> int:
    """Start the process's peak (VmHWM) afresh from its current resident size, which it returns."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return _memory(pid, "VmRSS")


def _memory(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field}")


@pytest.mark.parametrize("text,message", [
    ("images: {max_images: 0}", "more than 0"),
    ("images: {max_image_bytes: lots}", "images"),
    ("images: {max_pixels: 5}", "expected a mapping"),
    ("images: {max_images: true}", "more than 0"),
    ("terms: {version: v1}", "grace_days"),
])
def test_bad_image_or_terms_settings_are_refused_with_a_reason(tmp_path, text, message):
    from alltoken.config import ConfigError, load_settings

    path = tmp_path / "alltoken.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(str(path), env={})


def test_image_and_terms_settings_are_read(tmp_path):
    from alltoken.config import load_settings

    path = tmp_path / "alltoken.yaml"
    path.write_text("images: {max_images: 4, moderation_log_retention_days: 90}\nterms: {grace_days: 7}")
    settings = load_settings(str(path), env={})
    assert (settings.images.max_images, settings.images.moderation_log_retention_days) == (4, 90)
    assert settings.images.max_mask_bytes == 4 * 1024 * 1024 and settings.terms.grace_days == 7
