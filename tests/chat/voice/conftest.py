"""Voice test helpers: spoken audio made by Piper, and a voice socket to send it through."""

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.core.cache import cache

from accounts.models import User
from chat.models import Message
from chat.voice import speech
from tests.conftest import _session_cookie_for
from tests.realtime_upstream import RealtimeServer

# Whisper's tiny.en hears Piper's "I prefer window seats" as "Windows seats" on the machine CI
# now runs on (three times out of three; "I like window seats" right three times out of three).
SENTENCE = "I live in Porto and I like window seats."
RATE = speech.INPUT_SAMPLE_RATE


def silence(seconds: float) -> bytes:
    return b"\0\0" * int(RATE * seconds)


@pytest.fixture(scope="session")
def say() -> Callable[[str], bytes]:
    """16 kHz PCM16 of Piper saying a text: the test's microphone."""

    def speak(text: str) -> bytes:
        pcm = speech.synthesize(text, steady=True)
        return speech.resample(pcm, speech.output_sample_rate(), RATE)

    return speak


@pytest.fixture(scope="session")
def spoken_sentence(say) -> bytes:
    return say(SENTENCE)


@pytest.fixture
async def connect_voice():
    """Open a conversation's voice socket as a user (None: anonymous); closed afterwards."""
    opened: list[WebsocketCommunicator] = []

    async def open_socket(conversation_id: int, user: User | None) -> WebsocketCommunicator:
        from config.asgi import application

        headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
        if user is not None:
            cookie = await _session_cookie_for(user)
            headers.append((b"cookie", f"sessionid={cookie}".encode()))
        socket = WebsocketCommunicator(
            application, f"/ws/voice/{conversation_id}/", headers=headers
        )
        opened.append(socket)
        # The first connection of a test process waits for Django to import the consumers.
        connected, _ = await socket.connect(timeout=30)
        assert connected
        return socket

    yield open_socket
    for socket in opened:
        if not socket.future.done():
            await socket.disconnect(timeout=5)


@pytest.fixture
def start_voice(connect_voice) -> Callable[..., Awaitable[WebsocketCommunicator]]:
    """A voice socket that has sent its start frame and got `ready` back."""

    async def open_started(conversation_id: int, user: User) -> WebsocketCommunicator:
        socket = await connect_voice(conversation_id, user)
        await socket.send_json_to({"type": "start", "sample_rate": RATE, "format": "pcm16"})
        assert (await socket.receive_json_from(timeout=30))["type"] == "ready"
        return socket

    return open_started


async def send_audio(socket: WebsocketCommunicator, pcm: bytes, chunk_seconds: float = 0.1) -> None:
    step = int(RATE * chunk_seconds) * 2
    for offset in range(0, len(pcm), step):
        await socket.send_to(bytes_data=pcm[offset : offset + step])


async def next_event(
    socket: WebsocketCommunicator, kind: str, seconds: float = 60
) -> dict[str, Any]:
    """The next JSON frame of this type, skipping the others (audio included)."""
    while True:
        frame = await socket.receive_output(timeout=seconds)
        if frame["type"] == "websocket.close":
            raise AssertionError(f"the socket closed with {frame['code']} before {kind!r}")
        if frame.get("text") and json.loads(frame["text"])["type"] == kind:
            return json.loads(frame["text"])


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5) -> None:
    """Wait for what has no event of its own, such as a message the test server got."""
    for _ in range(int(seconds * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("it did not happen in time")


def cancelled_upstream(realtime: RealtimeServer) -> Callable[[], Awaitable[bool]]:
    """Whether the server has read the cancel and the truncate of an answer spoken over: sent as
    it speaks the next, they can reach it after the page heard the next turn start."""

    async def check() -> bool:
        return bool(
            realtime.events("response.cancel") and realtime.events("conversation.item.truncate")
        )

    return check


async def close_code(socket: WebsocketCommunicator, seconds: float = 10) -> tuple[list[dict], int]:
    """The JSON frames sent before the socket closed, and its close code."""
    events = []
    while True:
        frame = await socket.receive_output(timeout=seconds)
        if frame["type"] == "websocket.close":
            return events, frame["code"]
        if frame.get("text"):
            events.append(json.loads(frame["text"]))


@pytest.fixture(autouse=True)
def _voice_on(settings):
    settings.VOICE_ENABLED = True


@pytest.fixture(autouse=True)
def _no_voice_locks_left():
    # Voice session locks live in the cache, which outlives each test's database.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def realtime_server() -> Iterator[RealtimeServer]:
    with RealtimeServer() as server:
        yield server


@pytest.fixture
def realtime(realtime_server, upstream, settings) -> Iterator[RealtimeServer]:
    """Voice goes to our Realtime server; memory extraction to the Responses test server."""
    realtime_server.reset()
    settings.OPENAI_REALTIME_URL = realtime_server.base_url
    settings.OPENAI_REALTIME_MODEL = "test-realtime"
    yield realtime_server
    realtime_server.reset()


async def speak(socket: WebsocketCommunicator, seconds: float = 0.6) -> None:
    """Microphone audio for the Realtime test server, which hears it whatever it holds."""
    await socket.send_to(bytes_data=silence(seconds))


async def saved(conversation) -> list[Message]:
    return [message async for message in Message.objects.filter(conversation=conversation)]
