"""One voice session: its protocol and limits, and the offline engine that turns speech into turns.

The session checks what the browser sends (a start frame, then 16 kHz PCM16) and enforces the
limits; the engine hears utterances, runs each as an ordinary chat turn and speaks the answer.
"""

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from chat import services, turns
from chat.models import Conversation, Message
from chat.streaming import batched
from chat.voice import services as voice_services
from chat.voice import speech

# Close codes, alongside the chat's 4401 and 4404.
CLOSE_BAD_INPUT = 4400
CLOSE_DISABLED = 4403
CLOSE_TIMEOUT = 4408
CLOSE_BUSY = 4409
CLOSE_TOO_FAST = 4429
# Audio goes out in pieces of this length, so a barge-in stops it within one piece.
AUDIO_CHUNK_SECONDS = 0.25
WATCH_INTERVAL_SECONDS = 0.5
# A sentence ends at . ! ? or … (and any closing quotes or brackets) before a space; or a new line.
SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*(?=\s)|\n")


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

    async def answer_delta(self, answer: Message, text: str) -> None: ...

    async def answer_finished(self, answer: Message) -> None: ...


class SentenceSplitter:
    """Gathers streamed text and hands out whole sentences, so each can be spoken on its own."""

    def __init__(self) -> None:
        self._pending = ""

    def add(self, text: str) -> list[str]:
        text = self._pending + text
        sentences, start = [], 0
        for end in SENTENCE_END.finditer(text):
            sentences.append(text[start : end.end()].strip())
            start = end.end()
        self._pending = text[start:]
        return [sentence for sentence in sentences if sentence]

    def rest(self) -> str:
        rest, self._pending = self._pending.strip(), ""
        return rest


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
                heard.append(text)
                continue
            if now > start:
                words = text.split()
                said = int(len(words) * (now - start) / (end - start))
                heard.extend(words[:said])
            break
        return " ".join(heard)


class OfflineEngine:
    """Speech in with webrtcvad and faster-whisper, the typed-chat turn, speech out with Piper."""

    def __init__(self, conversation: Conversation, outbox: Outbox) -> None:
        self.conversation = conversation
        self.outbox = outbox
        self.detector = speech.UtteranceDetector(
            end_of_speech_ms=settings.VOICE_END_OF_SPEECH_MS,
            max_utterance_seconds=settings.VOICE_MAX_UTTERANCE_SECONDS,
        )
        self.turn: asyncio.Task | None = None
        self.spoken: SpokenAnswer | None = None
        self.last_heard = time.monotonic()

    async def output_sample_rate(self) -> int:
        # The first call may load the voice: never on the event loop.
        return await asyncio.to_thread(speech.output_sample_rate)

    def busy_until(self) -> float:
        """When the agent last was, or will stop, listening or talking (for the idle timeout)."""
        ends_at = self.spoken.ends_at if self.spoken else 0.0
        if self.turn and not self.turn.done():
            return time.monotonic()
        return max(self.last_heard, ends_at)

    def speaking(self) -> bool:
        working = self.turn is not None and not self.turn.done()
        return working or (self.spoken is not None and self.spoken.playing(time.monotonic()))

    async def feed(self, pcm: bytes) -> None:
        # webrtcvad takes microseconds a frame: cheaper inline than a trip to a thread.
        for event in self.detector.feed(pcm):
            self.last_heard = time.monotonic()
            if isinstance(event, speech.SpeechStarted):
                await self.outbox.event({"type": "speech_started"})
                if self.speaking():
                    await self.barge_in()
            else:
                await self.outbox.event({"type": "speech_ended"})
                self.turn = asyncio.create_task(self.take_turn(event.pcm))

    async def barge_in(self) -> None:
        """The user spoke over the answer: stop at once, keep the answer up to what was heard."""
        heard_at = time.monotonic()
        spoken, turn = self.spoken, self.turn
        self.spoken = self.turn = None
        await self.outbox.event({"type": "barge_in"})
        if turn is not None:
            turn.cancel()
            await asyncio.gather(turn, return_exceptions=True)
        if spoken is not None:
            answer = await database_sync_to_async(voice_services.keep_heard_part)(
                spoken.answer,
                spoken.heard(heard_at),
                extraction_scheduled=spoken.extraction_scheduled,
            )
            await self.outbox.answer_finished(answer)

    async def take_turn(self, pcm: bytes) -> None:
        transcript = await asyncio.to_thread(speech.transcribe, pcm)
        if not transcript:
            await self.outbox.event({"type": "no_speech"})
            return
        try:
            user_message, answer = await database_sync_to_async(voice_services.start_spoken_turn)(
                self.conversation, transcript
            )
        except services.TurnRejected as rejection:
            await self.outbox.event({"type": "error", "message": str(rejection)})
            return
        self.spoken = spoken = SpokenAnswer(answer)
        await self.outbox.turn_started(user_message, answer)
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        speaker = asyncio.create_task(self.speak(sentences, spoken))
        try:
            await self.stream_text(user_message, spoken, sentences)
            await speaker
        finally:
            speaker.cancel()
            await asyncio.gather(speaker, return_exceptions=True)
        await self.outbox.event({"type": "answer_spoken", "message_id": answer.pk})

    async def stream_text(
        self, user_message: Message, spoken: SpokenAnswer, sentences: asyncio.Queue
    ) -> None:
        splitter = SentenceSplitter()
        updates = turns.stream_answer(self.conversation, user_message, spoken.answer)
        async for batch in batched(updates, settings.CHAT_STREAM_FLUSH_SECONDS):
            text = "".join(u.text for u in batch if isinstance(u, turns.AnswerDelta))
            if text:
                await self.outbox.answer_delta(spoken.answer, text)
                for sentence in splitter.add(text):
                    sentences.put_nowait(sentence)
            for update in batch:
                if isinstance(update, turns.AnswerFinished):
                    spoken.answer = update.message
                    spoken.extraction_scheduled = update.message.status == Message.Status.COMPLETE
                    await self.outbox.answer_finished(update.message)
        if rest := splitter.rest():
            sentences.put_nowait(rest)
        sentences.put_nowait(None)

    async def speak(self, sentences: asyncio.Queue, spoken: SpokenAnswer) -> None:
        rate = await self.output_sample_rate()
        chunk_bytes = int(rate * AUDIO_CHUNK_SECONDS) * speech.BYTES_PER_SAMPLE
        while (sentence := await sentences.get()) is not None:
            pcm = await asyncio.to_thread(speech.synthesize, sentence)
            spoken.add(sentence, speech.seconds_of(pcm, rate), time.monotonic())
            for offset in range(0, len(pcm), chunk_bytes):
                await self.outbox.audio(pcm[offset : offset + chunk_bytes])

    async def stop(self) -> None:
        if self.turn is not None:
            self.turn.cancel()
            await asyncio.gather(self.turn, return_exceptions=True)


class VoiceSession:
    """The protocol: one start frame, then audio no faster than real time, within the limits."""

    def __init__(self, engine: OfflineEngine, outbox: Outbox) -> None:
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
        output_sample_rate = await self.engine.output_sample_rate()
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
