"""Stopping background tasks for good, at shutdown.

A cancellation can be lost: Python 3.11's asyncio.wait_for and asyncio.timeout (used by our loops
and inside the Redis client) turn a cancellation that arrives just as their timeout expires into
TimeoutError, and a loop that retries after errors then simply runs on, so a shutdown that awaits
it hangs. stop_tasks cancels again until every task has ended.
"""

import asyncio

_RECANCEL_SECONDS = 1.0


async def stop_tasks(*tasks: "asyncio.Task[object] | None") -> None:
    """Cancel the tasks and wait until they have ended (their exceptions are discarded)."""
    pending: set[asyncio.Task[object]] = {task for task in tasks if task is not None}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=_RECANCEL_SECONDS)
    for ended in tasks:
        if ended is not None and not ended.cancelled():
            ended.exception()   # retrieved, so asyncio does not log it as never retrieved
