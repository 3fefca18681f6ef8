"""Chat test fixtures: an open chat socket."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from accounts.models import User
from tests.websocket import end_server_tasks

FLUSH_SECONDS = 10


@pytest.fixture
def open_chat(connect) -> Callable[..., Awaitable[WebsocketCommunicator]]:
    """Connect to a conversation's socket as a user (the `connect` fixture closes it afterwards)."""

    async def open_socket(conversation_id: int, user: User) -> WebsocketCommunicator:
        socket = await connect(conversation_id, user)
        # Generous: on a busy machine the first connection (sessions, ASGI app) can take seconds.
        connected, _ = await socket.connect(timeout=10)
        assert connected
        return socket

    return open_socket


@pytest.fixture(autouse=True)
async def _answers_end_within_the_test():
    """Answers run as server tasks that outlive sockets: end them before the database resets."""
    yield
    await end_server_tasks()
    # Bounded: once in CI's PostgreSQL pass the Redis pub/sub layer's flush never returned (its
    # shard lock or receive task), and the whole run hung in this teardown.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(FLUSH_SECONDS):
            await get_channel_layer().flush()
