"""Chat test fixtures: an open chat socket."""

from collections.abc import Awaitable, Callable

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.models import User
from chat import services, turns
from chat.models import Conversation, Message


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


async def run_turn(conversation: Conversation, text: str) -> Message:
    """Send `text` in the conversation and let the answer stream to its end; returns the answer."""
    user_message, answer = await sync_to_async(services.start_turn)(conversation, text)
    async for _ in turns.stream_answer(conversation, user_message, answer):
        pass
    await answer.arefresh_from_db()
    return answer
