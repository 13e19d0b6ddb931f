"""Opaque identifiers with a prefix that says what they name."""

import secrets
from datetime import UTC, datetime


def new_id(prefix: str, nbytes: int = 12) -> str:
    return f"{prefix}{secrets.token_hex(nbytes)}"


def new_request_id() -> str:
    return new_id("gen-")


def utcnow() -> datetime:
    return datetime.now(UTC)
