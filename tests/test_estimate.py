"""The hold's input bounds for images, documents and audio (runtime/media_estimate.py): an upstream
reporting more than the hold allowed for is capped at settlement, but these keep the hold honest. Inline
data is read only as far as needed: an image's header, a small PDF's page objects."""

import base64
import struct
import zlib

import orjson

from alltoken.http.v1.messages_native import native_prompt_bound
from alltoken.runtime.estimate import prompt_token_bound
from alltoken.runtime.media_estimate import (
    DOCUMENT_TOKEN_ALLOWANCE,
    IMAGE_TOKEN_ALLOWANCE,
    PAGE_TOKEN_ALLOWANCE,
    document_tokens,
    image_tokens,
)


def png(width: int, height: int) -> str:
    """A PNG's header (signature, IHDR, an empty IDAT, IEND) as a data: URL: all Pillow reads for the size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def pdf(pages: int) -> str:
    kids = " ".join(f"{3 + n} 0 R" for n in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * pages
    body = b"%PDF-1.4\n" + b"".join(f"{n} 0 obj\n".encode() + o + b"\nendobj\n" for n, o in enumerate(objects, 1))
    return base64.b64encode(body + b"%%EOF\n").decode()


def chat(*parts: dict) -> dict:
    return {"messages": [{"role": "user", "content": list(parts)}]}


def test_an_image_counts_the_allowance_unless_its_tiles_count_more():
    assert image_tokens(png(512, 512)) == IMAGE_TOKEN_ALLOWANCE
    assert image_tokens(None) == IMAGE_TOKEN_ALLOWANCE                       # by URL: unknown until fetched
    assert image_tokens(png(9900, 9000)) == 13 * 12 * 258 > IMAGE_TOKEN_ALLOWANCE
    assert image_tokens(png(40_000, 40_000)) > IMAGE_TOKEN_ALLOWANCE         # past Pillow's bomb limit
    assert image_tokens("data:image/png;base64,not an image") == IMAGE_TOKEN_ALLOWANCE


def test_a_document_counts_its_pages_when_cheap_else_the_allowance():
    assert document_tokens(pdf(3)) == 3 * PAGE_TOKEN_ALLOWANCE
    assert document_tokens("data:application/pdf;base64," + pdf(250)) == 250 * PAGE_TOKEN_ALLOWANCE
    assert document_tokens(None) == DOCUMENT_TOKEN_ALLOWANCE                 # a file id
    assert document_tokens(base64.b64encode(b"%PDF-1.7 compressed object streams").decode()) \
        == DOCUMENT_TOKEN_ALLOWANCE


def test_chat_parts_images_files_and_audio_are_bounded():
    image = {"type": "image_url", "image_url": {"url": png(9900, 9000)}}
    file_id = {"type": "file", "file": {"file_id": "file-abc"}}
    inline_pdf = {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64," + pdf(2)}}
    audio = {"type": "input_audio", "input_audio": {"data": base64.b64encode(b"\0" * 30_000).decode(),
                                                    "format": "wav"}}
    assert prompt_token_bound(chat(image)) == 8 + 13 * 12 * 258
    assert prompt_token_bound(chat(file_id, inline_pdf)) == 8 + DOCUMENT_TOKEN_ALLOWANCE + 2 * PAGE_TOKEN_ALLOWANCE
    assert prompt_token_bound(chat(audio)) == 8 + len(orjson.dumps(audio)) > 40_000   # its bytes, not seconds


def test_anthropic_image_and_document_blocks_are_bounded():
    def source(data: str, media_type: str) -> dict:
        return {"type": "base64", "media_type": media_type, "data": data}

    body = {"max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "image", "source": source(png(9900, 9000).partition(",")[2], "image/png")},
        {"type": "document", "source": source(pdf(4), "application/pdf")},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain words"}},
        {"type": "text", "text": "summarise"}]}]}
    assert native_prompt_bound(body) == (8 + 13 * 12 * 258 + 4 * PAGE_TOKEN_ALLOWANCE + DOCUMENT_TOKEN_ALLOWANCE
                                         + len("plain words") + len("text") + len("summarise"))
