"""Helpers for talking to the chat websocket in tests."""

import json
from collections.abc import AsyncIterator

from channels.testing import WebsocketCommunicator


async def send_chat(communicator: WebsocketCommunicator, text: str) -> None:
    await communicator.send_to(text_data=json.dumps({"message": text}))


async def frames_until_final(
    communicator: WebsocketCommunicator, seconds: float = 60
) -> AsyncIterator[str]:
    """Yield every frame up to and including the final render of the answer."""
    while True:
        frame = await communicator.receive_from(timeout=seconds)
        yield frame
        if 'hx-swap-oob="outerHTML"' in frame:
            return
