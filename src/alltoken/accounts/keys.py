"""API key format: `atk_` + 32 random base62 characters + a 6-character base62 CRC32 checksum.

The prefix lets secret scanners recognise a leaked key; the checksum lets us reject a typo or a
random string without touching the database. Only the SHA-256 of a key is stored: keys carry
190 bits of randomness, so a slow password hash would add latency and no safety.
"""

import hashlib
import secrets
import string
import zlib

PREFIX = "atk_"
_ALPHABET = string.digits + string.ascii_letters
_RANDOM_LENGTH = 32
_CHECKSUM_LENGTH = 6
KEY_LENGTH = len(PREFIX) + _RANDOM_LENGTH + _CHECKSUM_LENGTH


def generate_key() -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))
    return PREFIX + body + _checksum(body)


def is_well_formed(key: str) -> bool:
    if len(key) != KEY_LENGTH or not key.startswith(PREFIX):
        return False
    body, checksum = key[len(PREFIX):-_CHECKSUM_LENGTH], key[-_CHECKSUM_LENGTH:]
    return _checksum(body) == checksum


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def hint(key: str) -> str:
    """What we may show later: enough to recognise the key, not to use it."""
    return f"{key[:8]}...{key[-4:]}"


def _checksum(body: str) -> str:
    value = zlib.crc32(body.encode())
    digits = []
    for _ in range(_CHECKSUM_LENGTH):
        value, remainder = divmod(value, len(_ALPHABET))
        digits.append(_ALPHABET[remainder])
    return "".join(reversed(digits))
