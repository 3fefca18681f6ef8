"""Chat test fixtures: an open chat socket."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from accounts.models import User


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
    leftover = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in leftover:
        task.cancel()
    await asyncio.gather(*leftover, return_exceptions=True)
    await get_channel_layer().flush()
