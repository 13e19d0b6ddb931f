"""Passwords: argon2id hashes (argon2-cffi's defaults follow RFC 9106's recommendations), made and checked
off the event loop.

One hash takes ~120 ms and ~190 ms of CPU (argon2 runs its 4 lanes on threads of its own; measured on the
project's 2-core machine). Done on the event loop, that stalls every request the process serves, so the
request paths await `hash_off_loop` and `verify_off_loop`: the single entry points for a server. They run
the work in a small dedicated thread pool (argon2-cffi releases the GIL) with a bounded queue: past it they
raise `Busy` at once (a 429), so a flood of sign-ins gets fast refusals, not a growing backlog. The pool's
threads run at a lower priority (Linux nice NICE; argon2's own threads inherit it), so when the cores are
contended the event loop, and with it the data plane, goes first; hashing gets the rest. `hash_password`
and `verify` do the same work blocking, for the CLI and start-up."""

import asyncio
import contextlib
import functools
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256     # bounds the hashing work one request can ask for

# One hash already keeps up to 4 cores busy: one worker per 4 cores. A worker gets through ~8 hashes a
# second, so this many waiting is about a second's wait at most.
WORKERS = max(1, (os.cpu_count() or 1) // 4)
MAX_WAITING = 8 * WORKERS
BUSY_RETRY_SECONDS = 1
NICE = 19

_hasher = PasswordHasher()


@functools.cache
def _decoy() -> str:
    """Verified against when the email is unknown, so a wrong email costs as long as a wrong password. Made
    on first use: a hash at import would cost every process (and CLI run) ~0.2 s of CPU."""
    return _hasher.hash("decoy password, never matches")


class Busy(Exception):
    """Every worker is taken and the queue is full: try again in a moment."""


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"a password may have at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """False for a wrong password and for no user (None: the decoy is verified, for the same time)."""
    try:
        return _hasher.verify(password_hash or _decoy(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


class _Pool:
    """A thread pool that refuses work beyond `workers + max_waiting` jobs instead of queueing it."""

    def __init__(self, workers: int, max_waiting: int):
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="argon2", initializer=_yield_cpu)
        self._capacity = workers + max_waiting
        self._taken = 0
        self._lock = threading.Lock()       # jobs are counted out from the pool's threads

    async def run(self, work, *args):
        with self._lock:
            if self._taken >= self._capacity:
                raise Busy()
            self._taken += 1
        try:
            job = self._executor.submit(work, *args)
        except BaseException:
            self._done(None)
            raise
        # Counted out when the job ends, not when its caller stops waiting (a disconnected client):
        # until then it still holds a thread or a place in the queue.
        job.add_done_callback(self._done)
        return await asyncio.wrap_future(job)

    def _done(self, _job) -> None:
        with self._lock:
            self._taken -= 1


def _yield_cpu() -> None:
    """Lower this thread's priority. On Linux the nice value is per thread (elsewhere this call would renice
    the whole process, so it is left alone); a thread the kernel cannot renice just stays as it is."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


_pool = _Pool(WORKERS, MAX_WAITING)


async def hash_off_loop(password: str) -> str:
    """`hash_password` in the pool; raises Busy when it is full."""
    return await _pool.run(hash_password, password)


async def verify_off_loop(password_hash: str | None, password: str) -> bool:
    """`verify` in the pool; raises Busy when it is full."""
    return await _pool.run(verify, password_hash, password)
