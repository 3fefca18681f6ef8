"""The OpenAI Realtime voice engine: speech to speech upstream, memory and tools on our server.

The upstream hears and speaks; we save every transcript as the conversation's messages, inject
the user's memories into its instructions (refreshed on every turn), answer its function calls
with our tools, and schedule memory extraction after every completed exchange.

The upstream transcribes the user's speech on the side, so their words may arrive after the
answer began, or never: a turn opens on whichever comes first, the user's message is saved at
once and filled in when the words come. The answer's deltas are matched to it by response id.
"""

import asyncio
import base64
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import openai
from channels.db import database_sync_to_async
from django.conf import settings
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chat import agent, selectors, services, tool_calls, tools, turns
from chat.models import Conversation, Message
from chat.voice import services as voice_services
from chat.voice import speech
from chat.voice.session import (
    CLOSE_UPSTREAM,
    Outbox,
    SessionEnded,
    SpokenAnswer,
    keep_what_was_heard,
)
from memories import recall, tasks
from memories import services as memory_services
from memories.scopes import scope_of
from memories.selectors import memory_enabled

# The Realtime API's PCM16 runs at 24 kHz both ways.
REALTIME_SAMPLE_RATE = 24_000
SPOKEN_INSTRUCTIONS = "You are talking aloud: answer in short spoken sentences, no lists or markup."


@dataclass
class RealtimeTurn:
    """One exchange: the user's message, for the input item `item_id`, and the answer being
    spoken into `spoken` by the upstream's responses `response_ids` (more than one after a
    function call)."""

    item_id: str
    user_message: Message
    spoken: SpokenAnswer
    # Until the user's words are transcribed, or known to be lost.
    awaiting_words: bool
    response_ids: set[str] = field(default_factory=set)
    # The exchange ended before the user's words arrived; extraction reads them, so it waits.
    extraction_waits: bool = False
    parts: list[str] = field(default_factory=list)
    # Transcript of the answer heard since the last audio delta, tied to the next one.
    unvoiced: str = ""
    audio_item_id: str = ""
    audio_ms: float = 0.0


def opening_instructions(conversation: Conversation) -> str:
    """The session's first instructions: memories recalled for what the conversation was last
    about, before anyone speaks (no answer uses them yet, so none is logged)."""
    context = ""
    topic = opening_topic(conversation)
    if memory_enabled(conversation) and topic:
        recalled = recall.recall(conversation.owner, topic, scopes=scope_of(conversation).readable)
        context = recall.context_block(recalled)
    return spoken_instructions(conversation, context)


def turn_instructions(conversation: Conversation, user_message: Message, answer: Message) -> str:
    """The instructions for answering `user_message`, with the memories and project state the
    typed chat would give it, logged as used by `answer` (the dashboard's "used by")."""
    return spoken_instructions(
        conversation, turns.turn_context(conversation, user_message, answer) or ""
    )


def spoken_instructions(conversation: Conversation, context: str) -> str:
    parts = [
        turns.INSTRUCTIONS + selectors.project_instructions(conversation),
        SPOKEN_INSTRUCTIONS,
    ]
    if context:
        parts.append(context)
    return "\n\n".join(parts)


def tools_for(conversation: Conversation, source: Message | None) -> list[tools.Tool]:
    if not memory_enabled(conversation):
        return tools.general_tools()
    return [
        *tools.memory_tools(conversation, source=source),
        *tools.general_tools(),
    ]


def opening_topic(conversation: Conversation) -> str:
    """What the conversation was last about, to recall memories before anyone speaks."""
    last = conversation.messages.filter(role=Message.Role.USER).order_by("-id").first()
    return last.content if last else conversation.title


class Upsampler:
    """16 kHz PCM16 from the microphone to the 24 kHz the Realtime API takes, as a stream."""

    def __init__(self) -> None:
        # Here, as in chat.voice.speech: a process that serves no voice never loads PyAV and
        # FFmpeg.
        import av

        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=REALTIME_SAMPLE_RATE)
        self._frame_of = av.AudioFrame.from_ndarray

    def convert(self, pcm: bytes) -> bytes:
        frame = self._frame_of(
            np.frombuffer(pcm, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = speech.INPUT_SAMPLE_RATE
        return b"".join(
            bytes(out.planes[0])[: out.samples * speech.BYTES_PER_SAMPLE]
            for out in self._resampler.resample(frame)
        )


class RealtimeEngine:
    def __init__(self, conversation: Conversation, outbox: Outbox) -> None:
        self.conversation = conversation
        self.outbox = outbox
        self.upsampler = Upsampler()
        self.connection: Any = None
        self.manager: Any = None
        self.reader: asyncio.Task | None = None
        self.turn: RealtimeTurn | None = None
        # Every turn of the session by the user's input item, for words that arrive late.
        self.turns: dict[str, RealtimeTurn] = {}
        # Items the chat refused to answer (too many turns): their saved message, if any.
        self.refused: dict[str, Message | None] = {}
        # The input item the user spoke last, which the next response answers.
        self.heard_item: str | None = None
        self.last_heard = time.monotonic()

    async def open(self) -> int:
        instructions = await database_sync_to_async(opening_instructions)(self.conversation)
        try:
            self.manager = realtime_client().realtime.connect(model=settings.OPENAI_REALTIME_MODEL)
            self.connection = await self.manager.enter()
        except (InvalidStatus, OSError, openai.OpenAIError) as error:
            raise SessionEnded(CLOSE_UPSTREAM, describe_failure(error)) from None
        await self.update_session(instructions, source=None)
        self.reader = asyncio.create_task(self.read())
        return REALTIME_SAMPLE_RATE

    async def update_session(self, instructions: str, source: Message | None) -> None:
        session_tools = await database_sync_to_async(tools_for)(self.conversation, source)
        pcm = {"type": "audio/pcm", "rate": REALTIME_SAMPLE_RATE}
        await self.connection.session.update(
            session={
                "type": "realtime",
                "instructions": instructions,
                "tools": [
                    {
                        key: value
                        for key, value in tool.as_responses_tool().items()
                        if key != "strict"
                    }
                    for tool in session_tools
                ],
                "audio": {
                    "input": {
                        "format": pcm,
                        "transcription": {"model": "whisper-1"},
                        "turn_detection": {"type": "server_vad"},
                    },
                    "output": {"format": pcm},
                },
            }
        )

    async def feed(self, pcm: bytes) -> None:
        audio = self.upsampler.convert(pcm)
        if audio:
            await self.connection.input_audio_buffer.append(audio=base64.b64encode(audio).decode())

    def answering(self) -> bool:
        spoken = self.turn.spoken
        return spoken.answer.status == Message.Status.STREAMING or spoken.playing(time.monotonic())

    def busy_until(self) -> float:
        spoken_until = self.turn.spoken.ends_at if self.turn else 0.0
        return max(self.last_heard, spoken_until)

    async def read(self) -> None:
        """Handle the upstream's events until it closes or fails; that ends the session."""
        try:
            async for event in self.connection:
                await self.handle(event)
            ended = SessionEnded(CLOSE_UPSTREAM, "The realtime model closed the connection.")
        except SessionEnded as error:
            ended = error
        except (ConnectionClosed, openai.OpenAIError) as error:
            ended = SessionEnded(CLOSE_UPSTREAM, describe_failure(error))
        await self.save_unfinished_turn()
        await self.outbox.end(ended)

    async def handle(self, event: Any) -> None:
        kind = event.type
        if kind == "input_audio_buffer.speech_started":
            self.last_heard = time.monotonic()
            await self.outbox.event({"type": "speech_started"})
            if self.turn and self.answering():
                await self.barge_in()
            self.heard_item = event.item_id
        elif kind == "input_audio_buffer.speech_stopped":
            self.last_heard = time.monotonic()
            await self.outbox.event({"type": "speech_ended"})
        elif kind == "input_audio_buffer.committed":
            self.heard_item = event.item_id
        elif kind == "conversation.item.input_audio_transcription.completed":
            await self.words_arrived(event.item_id, event.transcript)
        elif kind == "conversation.item.input_audio_transcription.failed":
            self.words_lost(event.item_id)
        elif kind == "response.created":
            await self.response_started(event.response.id)
        elif kind == "response.output_audio_transcript.delta":
            if turn := self.turn_answering(event.response_id):
                turn.parts.append(event.delta)
                turn.unvoiced += event.delta
                await self.outbox.answer_delta(turn.spoken.answer, event.delta)
        elif kind == "response.output_audio.delta":
            if turn := self.turn_answering(event.response_id):
                await self.forward_audio(turn, event)
        elif kind == "response.function_call_arguments.done":
            await self.answer_function_call(event)
        elif kind == "response.done":
            if turn := self.turn_answering(event.response.id):
                await self.finish_turn(turn, event.response)
        elif kind == "error":
            raise SessionEnded(
                CLOSE_UPSTREAM, f"The realtime model reported an error: {event.error.message}"
            )

    def turn_answering(self, response_id: str) -> RealtimeTurn | None:
        """The turn this response speaks for; None for a response cut off by the user."""
        turn = self.turn
        return turn if turn is not None and response_id in turn.response_ids else None

    async def response_started(self, response_id: str) -> None:
        """The upstream answers what the user said last: open its turn, unless the words opened
        it already or this response goes on after a function call."""
        item = self.heard_item
        if item is None or item in self.refused:
            return
        if item not in self.turns:
            await self.open_turn(item, transcript=None)
        turn = self.turn
        streaming = turn is not None and turn.spoken.answer.status == Message.Status.STREAMING
        if streaming and turn.item_id == item:
            turn.response_ids.add(response_id)

    async def words_arrived(self, item: str, transcript: str) -> None:
        turn = self.turns.get(item)
        if turn is not None:
            await self.fill_words(turn, transcript)
        elif item in self.refused:
            saved = self.refused.pop(item)
            if saved is not None:
                await database_sync_to_async(voice_services.fill_transcript)(saved, transcript)
        elif not transcript.strip():
            # Nothing was understood; an answer the upstream gives anyway keeps the marker.
            return
        elif item == self.heard_item or self.heard_item is None:
            await self.open_turn(item, transcript)
        else:
            # Words the user said before speaking again, never answered: still theirs to keep.
            await database_sync_to_async(voice_services.save_spoken_words)(
                self.conversation, transcript
            )

    def words_lost(self, item: str) -> None:
        """The upstream could not transcribe the item: its message keeps the marker."""
        self.refused.pop(item, None)
        if turn := self.turns.get(item):
            turn.awaiting_words = turn.extraction_waits = False

    async def open_turn(self, item: str, transcript: str | None) -> None:
        """Save the user's message (its words, or the marker until they come) and the answer's."""
        await self.save_unfinished_turn()
        try:
            user_message, answer = await database_sync_to_async(voice_services.start_spoken_turn)(
                self.conversation, transcript
            )
        except services.TurnRejected as rejection:
            self.refused[item] = None if transcript else rejection.saved
            await self.outbox.event({"type": "error", "message": str(rejection)})
            return
        turn = RealtimeTurn(
            item, user_message, SpokenAnswer(answer), awaiting_words=transcript is None
        )
        self.turn = self.turns[item] = turn
        await self.outbox.turn_started(user_message, answer)
        if transcript is not None:
            await self.refresh_memory(turn)

    async def fill_words(self, turn: RealtimeTurn, transcript: str) -> None:
        if not turn.awaiting_words:
            return
        turn.awaiting_words = False
        if not transcript.strip():
            turn.extraction_waits = False
            return
        turn.user_message = await database_sync_to_async(voice_services.fill_transcript)(
            turn.user_message, transcript
        )
        if turn is self.turn:
            await self.refresh_memory(turn)
        if turn.extraction_waits:
            turn.extraction_waits = False
            await database_sync_to_async(tasks.schedule_extraction)(turn.spoken.answer)
        await self.outbox.transcribed(turn.user_message)

    async def refresh_memory(self, turn: RealtimeTurn) -> None:
        """The topic changed: recall for what was just said, and tie the tools to its message."""
        instructions = await database_sync_to_async(turn_instructions)(
            self.conversation, turn.user_message, turn.spoken.answer
        )
        await self.update_session(instructions, source=turn.user_message)

    async def forward_audio(self, turn: RealtimeTurn, event: Any) -> None:
        pcm = base64.b64decode(event.delta)
        seconds = speech.seconds_of(pcm, REALTIME_SAMPLE_RATE)
        turn.spoken.add(turn.unvoiced, seconds, time.monotonic())
        turn.unvoiced = ""
        turn.audio_item_id = event.item_id
        turn.audio_ms += seconds * 1000
        await self.outbox.audio(pcm)

    async def answer_function_call(self, event: Any) -> None:
        turn = self.turn_answering(event.response_id)
        source = turn.user_message if turn else None
        available = await database_sync_to_async(tools_for)(self.conversation, source)
        called = await agent.call_tool(
            event.name, event.arguments, {tool.name: tool for tool in available}
        )
        if turn:
            # Shown under the answer and given to later turns, as a typed answer's calls are.
            await database_sync_to_async(tool_calls.record_tool_call)(turn.spoken.answer, called)
            if called.reusable:
                await database_sync_to_async(memory_services.remember_tool_result)(
                    self.conversation,
                    turn.user_message,
                    called.name,
                    called.arguments,
                    called.output,
                )
        await self.connection.conversation.item.create(
            item={"type": "function_call_output", "call_id": event.call_id, "output": called.output}
        )
        await self.connection.response.create()

    async def finish_turn(self, turn: RealtimeTurn, response: Any) -> None:
        # A response that only called a function goes on in the next one.
        if any(item.type == "function_call" for item in response.output or []):
            return
        status = Message.Status.COMPLETE if response.status == "completed" else None
        if status is None:
            return
        answer = await database_sync_to_async(services.finish_answer)(
            turn.spoken.answer, content="".join(turn.parts), status=status
        )
        turn.spoken.answer = answer
        turn.spoken.extraction_scheduled = True
        await self.outbox.answer_finished(answer)
        if turn.awaiting_words:
            turn.extraction_waits = True
        else:
            await database_sync_to_async(tasks.schedule_extraction)(answer)

    async def barge_in(self) -> None:
        """Stop the answer where the user cut in, upstream too, and keep what was heard."""
        turn, self.turn = self.turn, None
        now = time.monotonic()
        await self.outbox.event({"type": "barge_in"})
        played_ms = turn.audio_ms - (turn.spoken.ends_at - now) * 1000
        if turn.awaiting_words and not turn.spoken.extraction_scheduled:
            # Not now, as keeping the heard part would: once the user's words arrive.
            turn.spoken.extraction_scheduled = turn.extraction_waits = True
        await self.connection.response.cancel()
        if turn.audio_item_id:
            await self.connection.conversation.item.truncate(
                item_id=turn.audio_item_id, content_index=0, audio_end_ms=max(0, int(played_ms))
            )
        await keep_what_was_heard(turn.spoken, now, self.outbox)

    async def save_unfinished_turn(self) -> None:
        """An answer still streaming when the session ends keeps its text, marked incomplete."""
        turn = self.turn
        if turn is None or turn.spoken.answer.status != Message.Status.STREAMING:
            return
        self.turn = None
        answer = await database_sync_to_async(services.finish_answer)(
            turn.spoken.answer,
            content="".join(turn.parts),
            status=Message.Status.INCOMPLETE,
            error="The voice session ended before the answer did.",
        )
        await self.outbox.answer_finished(answer)

    async def stop(self) -> None:
        if self.reader is not None and self.reader is not asyncio.current_task():
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)
        await self.save_unfinished_turn()
        if self.manager is not None:
            manager, self.manager = self.manager, None
            await manager.__aexit__(None, None, None)


def realtime_client() -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        # Self-hosted servers often need no key, but the SDK insists on one.
        api_key=settings.OPENAI_API_KEY or "not-needed",
        base_url=settings.OPENAI_BASE_URL or None,
        websocket_base_url=settings.OPENAI_REALTIME_URL or None,
    )


def describe_failure(error: Exception) -> str:
    if isinstance(error, InvalidStatus):
        if error.response.status_code == 401:
            return "The realtime model refused our API key (401). Check OPENAI_API_KEY."
        return f"The realtime model refused the connection (HTTP {error.response.status_code})."
    if isinstance(error, openai.OpenAIError):
        return agent.describe_upstream_error(error)
    return "The connection to the realtime model was lost."
