"""On PostgreSQL, chat turns' database and template work runs side by side on a pool of threads."""

import asyncio
import threading

import pytest
from django.conf import settings

from chat.turn_threads import in_turn_thread

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
