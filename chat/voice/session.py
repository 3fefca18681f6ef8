"""One voice session: its protocol and limits, whichever engine hears and answers.

The session checks what the browser sends (a start frame, then 16 kHz PCM16) and enforces the
limits; the engine (offline.py, realtime.py) turns the audio into saved turns and spoken answers.
"""

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from chat import services
from chat.models import Conversation, Message
from chat.voice import services as voice_services
from chat.voice import speech

# Close codes, alongside the chat's 4401 and 4404.
CLOSE_BAD_INPUT = 4400
CLOSE_DISABLED = 4403
CLOSE_TIMEOUT = 4408
CLOSE_BUSY = 4409
CLOSE_TOO_FAST = 4429
CLOSE_UPSTREAM = 4502
WATCH_INTERVAL_SECONDS = 0.5


class SessionEnded(Exception):
    """The session must close: `code` for the socket, the text for the person."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class Outbox(Protocol):
    """Where a session's output goes: the socket, rendered as the page needs it."""

    async def event(self, payload: dict[str, Any]) -> None: ...

    async def audio(self, pcm: bytes) -> None: ...

    async def turn_started(self, user_message: Message, answer: Message) -> None: ...

    async def transcribed(self, user_message: Message) -> None:
        """The user's words arrived after their turn had started."""
        ...

    async def answer_delta(self, answer: Message, text: str) -> None: ...

    async def answer_finished(self, answer: Message) -> None: ...

    async def end(self, ended: "SessionEnded") -> None:
        """Close the session from the engine's side (the upstream failed, say)."""
        ...


class Engine(Protocol):
    async def open(self) -> int:
        """Get ready; the sample rate of the PCM16 speech it will send back."""
        ...

    async def feed(self, pcm: bytes) -> None:
        """Take 16 kHz PCM16 from the microphone."""
        ...

    def busy_until(self) -> float:
        """When someone last spoke or the agent will stop talking (monotonic clock)."""
        ...

    async def stop(self) -> None: ...


@dataclass
class SpokenAnswer:
    """The timeline of an answer's audio as the browser plays it, to know what was heard."""

    answer: Message
    extraction_scheduled: bool = False
    # (text, start, end) on the monotonic clock, assuming playback starts as audio arrives.
    pieces: list[tuple[str, float, float]] = field(default_factory=list)
    ends_at: float = 0.0

    def add(self, text: str, seconds: float, now: float) -> None:
        start = max(now, self.ends_at)
        self.ends_at = start + seconds
        self.pieces.append((text, start, self.ends_at))

    def playing(self, now: float) -> bool:
        return now < self.ends_at

    def heard(self, now: float) -> str:
        """The text played by `now`: whole sentences, then the words of the one being said."""
        heard: list[str] = []
        for text, start, end in self.pieces:
            if now >= end:
                # Stripped: Realtime transcript deltas carry the space before their word.
                heard.append(text.strip())
                continue
            if now > start:
                words = text.split()
                said = int(len(words) * (now - start) / (end - start))
                heard.extend(words[:said])
            break
        return " ".join(heard)


async def open_spoken_turn(
    conversation: Conversation, transcript: str, outbox: Outbox
) -> tuple[Message, Message] | None:
    """Save the transcript as the user's turn and show it; None when the chat refuses it."""
    try:
        user_message, answer = await database_sync_to_async(voice_services.start_spoken_turn)(
            conversation, transcript
        )
    except services.TurnRejected as rejection:
        await outbox.event({"type": "error", "message": str(rejection)})
        return None
    await outbox.turn_started(user_message, answer)
    return user_message, answer


async def keep_what_was_heard(spoken: SpokenAnswer, heard_at: float, outbox: Outbox) -> None:
    answer = await database_sync_to_async(voice_services.keep_heard_part)(
        spoken.answer,
        spoken.heard(heard_at),
        extraction_scheduled=spoken.extraction_scheduled,
    )
    await outbox.answer_finished(answer)


class VoiceSession:
    """The protocol: one start frame, then audio no faster than real time, within the limits."""

    def __init__(self, engine: Engine, outbox: Outbox) -> None:
        self.engine = engine
        self.outbox = outbox
        self.opened_at = time.monotonic()
        self.started_at: float | None = None
        self.audio_seconds = 0.0

    async def receive_control(self, text: str) -> None:
        try:
            payload = json.loads(text)
            kind = payload["type"]
        except (ValueError, KeyError, TypeError):
            await self.outbox.event(
                {"type": "error", "message": 'Control frames are JSON objects with a "type".'}
            )
            return
        if kind == "start":
            await self.start(payload)
        elif kind == "stop":
            raise SessionEnded(1000, "The voice session ended.")
        else:
            await self.outbox.event({"type": "error", "message": f"Unknown frame type {kind!r}."})

    async def start(self, payload: dict[str, Any]) -> None:
        if self.started_at is not None:
            await self.outbox.event({"type": "error", "message": "The session already started."})
            return
        rate = payload.get("sample_rate")
        if rate != speech.INPUT_SAMPLE_RATE or payload.get("format", "pcm16") != "pcm16":
            raise SessionEnded(
                CLOSE_BAD_INPUT,
                f"Audio must be {speech.INPUT_SAMPLE_RATE} Hz mono PCM16 "
                f"(this stream declared {rate!r} Hz).",
            )
        output_sample_rate = await self.engine.open()
        self.started_at = time.monotonic()
        await self.outbox.event(
            {
                "type": "ready",
                "input_sample_rate": speech.INPUT_SAMPLE_RATE,
                "output_sample_rate": output_sample_rate,
            }
        )

    async def receive_audio(self, pcm: bytes) -> None:
        if self.started_at is None:
            raise SessionEnded(CLOSE_BAD_INPUT, "Send a start frame before any audio.")
        if len(pcm) % speech.BYTES_PER_SAMPLE:
            raise SessionEnded(CLOSE_BAD_INPUT, "Audio frames must hold whole 16-bit samples.")
        self.audio_seconds += speech.seconds_of(pcm)
        elapsed = time.monotonic() - self.started_at
        if self.audio_seconds > elapsed + settings.VOICE_AUDIO_AHEAD_SECONDS:
            raise SessionEnded(CLOSE_TOO_FAST, "Audio is arriving faster than real time.")
        await self.engine.feed(pcm)

    def check_limits(self) -> None:
        now = time.monotonic()
        if now - self.opened_at > settings.VOICE_MAX_SESSION_SECONDS:
            raise SessionEnded(CLOSE_TIMEOUT, "The voice session reached its time limit.")
        if now - max(self.opened_at, self.engine.busy_until()) > settings.VOICE_IDLE_SECONDS:
            raise SessionEnded(CLOSE_TIMEOUT, "Nobody spoke for a while, so voice was turned off.")

    async def watch(self) -> None:
        """Raise SessionEnded when a limit is reached."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)
            self.check_limits()

    async def stop(self) -> None:
        await self.engine.stop()
