"""Opaque identifiers with a prefix that says what they name."""

import itertools
import os
import secrets
from datetime import UTC, datetime

# Request ids come at the rate of requests: a random per-process prefix and a counter are unique
# across processes and far cheaper than a system random call per request. They are not secrets:
# every lookup by id is scoped to the caller's account.
_PROCESS_PREFIX = secrets.token_hex(6)
_COUNTER = itertools.count(1)


def _new_process() -> None:
    """A forked child is another process: its own prefix, else its ids repeat its parent's."""
    global _PROCESS_PREFIX, _COUNTER
    _PROCESS_PREFIX = secrets.token_hex(6)
    _COUNTER = itertools.count(1)


os.register_at_fork(after_in_child=_new_process)


def new_id(prefix: str, nbytes: int = 12) -> str:
    return f"{prefix}{secrets.token_hex(nbytes)}"


def new_request_id() -> str:
    return f"gen-{_PROCESS_PREFIX}{next(_COUNTER):012x}"


def utcnow() -> datetime:
    return datetime.now(UTC)
