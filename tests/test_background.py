"""stop_tasks (alltoken/background.py): a background loop whose cancellation was lost still stops."""

import asyncio

from alltoken.background import stop_tasks


async def test_a_loop_that_swallows_a_cancellation_is_cancelled_again_until_it_ends():
    swallowed = []

    async def loop_that_retries_after_errors():
        while True:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(True)   # as a timeout that turns the cancellation into TimeoutError would

    task = asyncio.create_task(loop_that_retries_after_errors())
    await asyncio.sleep(0.01)
    await asyncio.wait_for(stop_tasks(task, None), timeout=5)
    assert task.cancelled() and swallowed == [True]


async def test_a_task_that_failed_or_finished_stops_quietly():
    async def fail():
        raise RuntimeError("boom")

    failed, finished = asyncio.create_task(fail()), asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)
    await stop_tasks(failed, finished)
    assert failed.done() and finished.done()
