"""Chat test helpers: an open chat socket that is always closed again, and frame parsing."""

import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable

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
async def open_chat(connect) -> AsyncIterator[Callable[..., Awaitable[WebsocketCommunicator]]]:
    """Connect to a conversation's socket as a user; the socket is disconnected afterwards."""
    opened: list[WebsocketCommunicator] = []

    async def open_socket(conversation_id: int, user: User) -> WebsocketCommunicator:
        socket = await connect(conversation_id, user)
        connected, _ = await socket.connect()
        assert connected
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        if not socket.future.done():
            await socket.disconnect(timeout=5)
