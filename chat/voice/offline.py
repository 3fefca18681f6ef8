"""The offline voice engine: webrtcvad and Whisper hear, the chat's turn answers, Piper speaks."""

import asyncio
import re
import time

from django.conf import settings

from chat import turns
from chat.models import Conversation, Message
from chat.streaming import batched
from chat.voice import speech
from chat.voice.session import Outbox, SpokenAnswer, keep_what_was_heard, open_spoken_turn

# Audio goes out in pieces of this length, so a barge-in stops it within one piece.
AUDIO_CHUNK_SECONDS = 0.25
# A sentence ends at . ! ? or … (and any closing quotes or brackets) before a space; or a new line.
SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*(?=\s)|\n")


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

    async def open(self) -> int:
        """Get ready to talk; the sample rate of the speech it sends back."""
        # The process's first voice session loads the models (a second or two, on a thread): the
        # page says "Connecting…" meanwhile, and then neither the first words nor the first
        # answer wait for a model.
        await asyncio.to_thread(speech.warm_up)
        return speech.output_sample_rate()

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
            await keep_what_was_heard(spoken, heard_at, self.outbox)

    async def take_turn(self, pcm: bytes) -> None:
        transcript = await asyncio.to_thread(speech.transcribe, pcm)
        if not transcript:
            await self.outbox.event({"type": "no_speech"})
            return
        turn = await open_spoken_turn(self.conversation, transcript, self.outbox)
        if turn is None:
            return
        user_message, answer = turn
        self.spoken = spoken = SpokenAnswer(answer)
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
        rate = speech.output_sample_rate()
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
        # Once per session, not per answer: what one answer freed, the next reuses.
        await asyncio.to_thread(speech.release_free_memory)
