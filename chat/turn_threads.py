"""Where a chat turn's database and template work runs: a bounded pool of threads of its own.

Channels' database_sync_to_async runs everything on one thread per process, so every turn's
queries and rendering would wait behind every other's. On PostgreSQL the turns run side by
side on CHAT_TURN_THREADS threads (each keeps its own connection, CONN_MAX_AGE as usual); on
SQLite, which lets one writer in at a time, CHAT_TURN_THREADS is 0 and they stay on that one
thread.
"""

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, ParamSpec, TypeVar

from channels.db import DatabaseSyncToAsync, database_sync_to_async
from django.conf import settings
from django.db import connections

P = ParamSpec("P")
R = TypeVar("R")
# The longest until_idle waits for the turn threads.
IDLE_WAIT_SECONDS = 60


def in_turn_thread(func: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """`func` as a coroutine function that runs it on a turn thread.

    Like database_sync_to_async, it closes the thread's connection when it has expired or
    broken, before and after the call.
    """
    if settings.CHAT_TURN_THREADS == 0:
        return database_sync_to_async(func)
    run = DatabaseSyncToAsync(
        _counted(func), thread_sensitive=False, executor=_pool(settings.CHAT_TURN_THREADS)
    )

    @functools.wraps(func)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        # Counted from here, since the call is handed to the pool in this same step.
        _work.add(1)
        return await run(*args, **kwargs)

    return call


class _WorkCount:
    """Calls handed to the turn threads and not finished, whether or not their caller waits."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def add(self, change: int) -> None:
        with self._lock:
            self._count += change

    def __bool__(self) -> bool:
        return self._count > 0


_work = _WorkCount()


def _counted(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        finally:
            _work.add(-1)

    return run


async def until_idle() -> None:
    """Return once the turn threads have finished every call handed to them (or after
    IDLE_WAIT_SECONDS), while the event loop goes on serving them: a call whose caller was
    cancelled still runs, and one that calls back into the loop (async_to_sync, as a memory
    notice does) would wait forever for a loop that stopped first."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(IDLE_WAIT_SECONDS):
            # Polled: the count changes in the turn threads, which cannot await.
            while _work:  # noqa: ASYNC110
                await asyncio.sleep(0.02)


@cache
def _pool(size: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=size, thread_name_prefix="chat-turn")


def in_lease_thread(func: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """`func` as a coroutine function that runs it on the one thread kept for answer leases.

    Queued behind turns (on the turn threads) or speech work (on the event loop's default
    executor, where asyncio.to_thread runs), a renewal could come after its lease ran out, and
    other processes would end a live answer as abandoned.
    """
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=_lease_thread())


@cache
def _lease_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="answer-lease")


def close_connections() -> None:
    """Close the database connections of every turn thread and of the lease thread, as before
    dropping the database.

    Each thread keeps its connections for CONN_MAX_AGE, and only a thread may close its own:
    one task per thread, held at a barrier until every thread has one.
    """
    if _lease_thread.cache_info().currsize:
        _lease_thread().submit(connections.close_all).result()
    size = settings.CHAT_TURN_THREADS
    if size == 0:
        return
    pool = _pool(size)
    # The pool starts threads as work comes, up to `size`: the barrier is for those it started.
    started = len(pool._threads)
    if started == 0:
        return
    every_thread = threading.Barrier(started)

    def close() -> None:
        # A thread busy past the timeout breaks the barrier: the others still close theirs.
        with contextlib.suppress(threading.BrokenBarrierError):
            every_thread.wait(timeout=30)
        connections.close_all()

    for done in [pool.submit(close) for _ in range(started)]:
        done.result()
