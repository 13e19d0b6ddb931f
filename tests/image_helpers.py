"""Images for the image tests, made with Pillow, and a gateway in front of the fake Images API."""

import io
import os
import sqlite3

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from .conftest import openai_config
from .harness import Gateway


def picture(size=(64, 64), image_format="PNG", mode="RGB", colour=(20, 120, 220), text: dict | None = None) -> bytes:
    image = Image.new(mode, size, colour if mode != "RGBA" else (*colour, 255))
    out = io.BytesIO()
    extra = {}
    if text:
        info = PngInfo()
        for key, value in text.items():
            info.add_text(key, value)
        extra["pnginfo"] = info
    image.save(out, image_format, **extra)
    return out.getvalue()


def mask(size=(64, 64), alpha=True) -> bytes:
    """Transparent on its left half (edit there), opaque on the right; without alpha: plain RGB."""
    if not alpha:
        return picture(size, mode="RGB", colour=(0, 0, 0))
    image = Image.new("RGBA", size, (0, 0, 0, 255))
    image.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def noise_png(side: int) -> bytes:
    """A PNG of random pixels, stored uncompressed: about 3 × side² bytes."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG", compress_level=0)
    return out.getvalue()


def images_gateway(workdir, fake, env: dict | None = None, **images_settings) -> Gateway:
    """A gateway whose `openai` provider is the fake Images API, with these `images:` settings."""
    extra = {"images": images_settings} if images_settings else {}
    return Gateway(workdir, openai_config(fake, **extra), env=env).start()


def db_rows(gateway: Gateway, query: str, *args) -> list[tuple]:
    with sqlite3.connect(gateway.db_path) as db:
        return db.execute(query, args).fetchall()


def moderation_records(gateway: Gateway, account: str) -> list[tuple]:
    """(task_id, moderation, model) of every moderation-log record of `account`, oldest first."""
    return db_rows(gateway, "SELECT task_id, moderation, model FROM image_moderation_log WHERE account_id = ? "
                            "ORDER BY created_at", account)


def uploader(gateway: Gateway, usd: str = "10") -> tuple[str, str]:
    """A fresh account that gave the image-upload warranty, and a key for it."""
    account, key = gateway.new_key(usd)
    gateway.cli("terms", "accept", "--account", account, "--image-uploads")
    return account, key
