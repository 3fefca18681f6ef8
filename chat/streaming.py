"""Rate-limiting a stream: many small updates in, at most one batch per interval out."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

T = TypeVar("T")
_END = object()


async def batched(
    source: AsyncIterator[T], interval: float | Callable[[], float]
) -> AsyncIterator[list[T]]:
    """Yield what `source` produced since the last batch, no more often than every `interval` s.

    `interval` may be a function, asked after each batch, so the pace can follow the load. The
    first item goes out at once, so batching never delays the first token. The source runs in a
    task of its own: a slow reader never holds it up, and cancelling the reader cancels it.
    """
    pace = interval if callable(interval) else lambda: interval
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    failure: list[BaseException] = []

    async def pump() -> None:
        try:
            async for item in source:
                queue.put_nowait(item)
        except Exception as error:
            failure.append(error)
        finally:
            queue.put_nowait(_END)

    pump_task = asyncio.create_task(pump())
    try:
        next_allowed = loop.time()
        ended = False
        while not ended:
            batch = [await queue.get()]
            wait = next_allowed - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            while not queue.empty():
                batch.append(queue.get_nowait())
            ended = batch[-1] is _END
            items = [item for item in batch if item is not _END]
            if items:
                yield items
                next_allowed = loop.time() + pace()
        if failure:
            raise failure[0]
    finally:
        if not pump_task.done():
            pump_task.cancel()
        await asyncio.gather(pump_task, return_exceptions=True)
