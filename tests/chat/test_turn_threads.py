"""On PostgreSQL, chat turns' database and template work runs side by side on a pool of threads."""

import asyncio
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings

from chat.turn_threads import in_turn_thread, until_idle

pytestmark = [
    pytest.mark.skipif(
        settings.CHAT_TURN_THREADS == 0, reason="SQLite: one writer, so turns share one thread"
    ),
    # The threads check their connections before and after each call.
    pytest.mark.django_db(transaction=True),
]


async def test_two_turns_work_at_the_same_time_on_threads_of_the_pool():
    # Each call returns only once the other has started: on one shared thread they never would.
    both_started = threading.Barrier(2)

    def work() -> str:
        both_started.wait(timeout=10)
        return threading.current_thread().name

    names = await asyncio.gather(in_turn_thread(work)(), in_turn_thread(work)())

    assert names[0] != names[1]
    assert all(name.startswith("chat-turn") for name in names)


async def test_until_idle_waits_for_cancelled_work_that_calls_back_into_the_loop():
    # A cancelled answer's extraction goes on in its thread and publishes through this loop:
    # until_idle keeps the loop serving it until it is done.
    started = threading.Event()
    finished = threading.Event()

    async def publish() -> None:
        await asyncio.sleep(0.2)

    def extraction() -> None:
        started.set()
        time.sleep(0.3)
        async_to_sync(publish)()
        finished.set()

    answer = asyncio.ensure_future(in_turn_thread(extraction)())
    await asyncio.to_thread(started.wait, 10)
    answer.cancel()

    await until_idle()

    assert finished.is_set()
