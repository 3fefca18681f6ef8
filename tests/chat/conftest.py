"""Chat test helpers: an open chat socket, and frame parsing."""

import html
import re
from collections.abc import Awaitable, Callable

import pytest
from channels.testing import WebsocketCommunicator

from accounts.models import User

DELTA_FRAME = re.compile(
    r'<span hx-swap-oob="beforeend:#message-(?P<id>\d+)-text">(?P<text>.*)</span>', re.DOTALL
)


def delta_text(frame: str) -> str | None:
    """The text a delta frame appends (as the browser shows it), or None for other frames."""
    match = DELTA_FRAME.fullmatch(frame)
    return html.unescape(match["text"]) if match else None


@pytest.fixture
def open_chat(connect) -> Callable[..., Awaitable[WebsocketCommunicator]]:
    """Connect to a conversation's socket as a user (the `connect` fixture closes it afterwards)."""

    async def open_socket(conversation_id: int, user: User) -> WebsocketCommunicator:
        socket = await connect(conversation_id, user)
        # The first connection of a run imports the ASGI application: give it time.
        connected, _ = await socket.connect(timeout=10)
        assert connected
        return socket

    return open_socket
