"""The OpenAI Realtime voice engine: speech to speech upstream, memory and tools on our server.

The upstream hears and speaks; we save every transcript as the conversation's messages, inject
the user's memories into its instructions (refreshed on every turn), answer its function calls
with our tools, and schedule memory extraction after every completed exchange.
"""

import asyncio
import base64
import time
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
import openai
from channels.db import database_sync_to_async
from django.conf import settings
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chat import agent, selectors, services, tool_calls, tools, turns
from chat.models import Conversation, Message
from chat.voice import speech
from chat.voice.session import (
    CLOSE_UPSTREAM,
    Outbox,
    SessionEnded,
    SpokenAnswer,
    keep_what_was_heard,
    open_spoken_turn,
)
from memories import project_context, recall, tasks
from memories import services as memory_services
from memories.scopes import scope_of
from memories.selectors import memory_enabled

# The Realtime API's PCM16 runs at 24 kHz both ways.
REALTIME_SAMPLE_RATE = 24_000
SPOKEN_INSTRUCTIONS = "You are talking aloud: answer in short spoken sentences, no lists or markup."


@dataclass
class RealtimeTurn:
    """One exchange: the user's saved transcript and the answer being spoken into `spoken`."""

    user_message: Message
    spoken: SpokenAnswer
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
    memory = recall.retrieve_for_turn(conversation, user_message, answer)
    if not memory.enabled:
        return spoken_instructions(conversation, "")
    work = project_context.for_turn(conversation, answer, recalled=memory.recalled)
    return spoken_instructions(
        conversation, "\n".join(block for block in (work, memory.context) if block)
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
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=REALTIME_SAMPLE_RATE)

    def convert(self, pcm: bytes) -> bytes:
        frame = av.AudioFrame.from_ndarray(
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
        elif kind == "input_audio_buffer.speech_stopped":
            self.last_heard = time.monotonic()
            await self.outbox.event({"type": "speech_ended"})
        elif kind == "conversation.item.input_audio_transcription.completed":
            await self.start_turn(event.transcript)
        elif kind == "response.output_audio_transcript.delta" and self.turn:
            self.turn.parts.append(event.delta)
            self.turn.unvoiced += event.delta
            await self.outbox.answer_delta(self.turn.spoken.answer, event.delta)
        elif kind == "response.output_audio.delta" and self.turn:
            await self.forward_audio(event)
        elif kind == "response.function_call_arguments.done":
            await self.answer_function_call(event)
        elif kind == "response.done" and self.turn:
            await self.finish_turn(event.response)
        elif kind == "error":
            raise SessionEnded(
                CLOSE_UPSTREAM, f"The realtime model reported an error: {event.error.message}"
            )

    async def start_turn(self, transcript: str) -> None:
        transcript = transcript.strip()
        if not transcript:
            return
        await self.save_unfinished_turn()
        turn = await open_spoken_turn(self.conversation, transcript, self.outbox)
        if turn is None:
            return
        user_message, answer = turn
        self.turn = RealtimeTurn(user_message, SpokenAnswer(answer))
        # The topic changed: recall for what was just said, and tie the tools to this message.
        instructions = await database_sync_to_async(turn_instructions)(
            self.conversation, user_message, answer
        )
        await self.update_session(instructions, source=user_message)

    async def forward_audio(self, event: Any) -> None:
        turn = self.turn
        pcm = base64.b64decode(event.delta)
        seconds = speech.seconds_of(pcm, REALTIME_SAMPLE_RATE)
        turn.spoken.add(turn.unvoiced, seconds, time.monotonic())
        turn.unvoiced = ""
        turn.audio_item_id = event.item_id
        turn.audio_ms += seconds * 1000
        await self.outbox.audio(pcm)

    async def answer_function_call(self, event: Any) -> None:
        source = self.turn.user_message if self.turn else None
        available = await database_sync_to_async(tools_for)(self.conversation, source)
        called = await agent.call_tool(
            event.name, event.arguments, {tool.name: tool for tool in available}
        )
        if self.turn:
            # Shown under the answer and given to later turns, as a typed answer's calls are.
            await database_sync_to_async(tool_calls.record_tool_call)(
                self.turn.spoken.answer, called
            )
            if called.reusable:
                await database_sync_to_async(memory_services.remember_tool_result)(
                    self.conversation,
                    self.turn.user_message,
                    called.name,
                    called.arguments,
                    called.output,
                )
        await self.connection.conversation.item.create(
            item={"type": "function_call_output", "call_id": event.call_id, "output": called.output}
        )
        await self.connection.response.create()

    async def finish_turn(self, response: Any) -> None:
        # A response that only called a function goes on in the next one.
        if any(item.type == "function_call" for item in response.output or []):
            return
        turn = self.turn
        status = Message.Status.COMPLETE if response.status == "completed" else None
        if status is None:
            return
        answer = await database_sync_to_async(services.finish_answer)(
            turn.spoken.answer, content="".join(turn.parts), status=status
        )
        turn.spoken.answer = answer
        turn.spoken.extraction_scheduled = True
        await self.outbox.answer_finished(answer)
        await database_sync_to_async(tasks.schedule_extraction)(answer)

    async def barge_in(self) -> None:
        """Stop the answer where the user cut in, upstream too, and keep what was heard."""
        turn, self.turn = self.turn, None
        now = time.monotonic()
        await self.outbox.event({"type": "barge_in"})
        played_ms = turn.audio_ms - (turn.spoken.ends_at - now) * 1000
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
