"""The Realtime engine when the user's words are transcribed after the answer began, or never.

The real API transcribes input audio on the side: its transcript may come after the answer's
audio, fail, or not come at all. The turn opens when the answer starts; nothing said is lost.
"""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat.models import Conversation, ToolCall
from chat.voice.services import INTERRUPTED, NOT_TRANSCRIBED
from memories import selectors as memory_selectors
from memories import services as memory_services
from memories.models import ExtractionRun, Memory
from tests.chat.voice.conftest import (
    SENTENCE,
    cancelled_upstream,
    eventually,
    next_event,
    saved,
    speak,
)
from tests.realtime_upstream import Say

pytestmark = pytest.mark.django_db(transaction=True)


async def frames_until(
    socket: WebsocketCommunicator, kind: str, seconds: float = 10
) -> tuple[list[dict], int]:
    """The JSON events up to and including the first of type `kind`, and the audio bytes."""
    events, audio = [], 0
    while True:
        frame = await socket.receive_output(timeout=seconds)
        assert frame["type"] != "websocket.close", f"closed with {frame['code']} before {kind!r}"
        if frame.get("bytes"):
            audio += len(frame["bytes"])
            continue
        events.append(json.loads(frame["text"]))
        if events[-1]["type"] == kind:
            return events, audio


async def extraction_runs(answer) -> int:
    return await ExtractionRun.objects.filter(message=answer).acount()


async def test_words_transcribed_after_the_answer_fill_the_message_saved_when_it_began(
    realtime, upstream, start_voice, conversation, user
):
    answer_text = "Noted: Porto, and a window seat."
    realtime.script(Say(SENTENCE, answer_text, seconds_per_word=0.05, transcription="after"))
    socket = await start_voice(conversation.pk, user)

    await speak(socket)
    events, audio = await frames_until(socket, "transcribed")

    kinds = [event["type"] for event in events]
    assert kinds.index("turn_started") < kinds.index("answer_finished") < kinds.index("transcribed")
    started, transcribed = events[kinds.index("turn_started")], events[-1]
    assert started["transcript"] == NOT_TRANSCRIBED
    assert transcribed["transcript"] == SENTENCE
    # Every word and every audio delta of the answer reached it, none was dropped.
    assert "".join(e["text"] for e in events if e["type"] == "answer_delta") == answer_text
    assert audio == len(answer_text.split()) * int(24000 * 0.05) * 2
    question, answer = await saved(conversation)
    assert f'id="{question.dom_id}"' in transcribed["html"]
    assert (question.content, question.via) == (SENTENCE, "voice")
    assert (answer.content, answer.status, answer.via) == (answer_text, "complete", "voice")
    refreshed = await Conversation.objects.aget(pk=conversation.pk)
    assert refreshed.title == SENTENCE[:60]
    # Extraction waited for the words, then read them (mem0 asks the Responses test server).
    assert await extraction_runs(answer) == 1
    asked = json.dumps(upstream.chat_bodies())
    assert "window seats" in asked
    assert NOT_TRANSCRIBED not in asked


async def test_late_words_bring_their_memories_to_the_session_and_log_them_as_used(
    realtime, start_voice, make_conversation, user
):
    await sync_to_async(memory_services.add_memory)(user, "Lives in Porto", kind="profile")
    conversation = await sync_to_async(make_conversation)(user, title="Weekend plans")
    realtime.script(Say("Which city do I live in?", "Porto.", transcription="after"))
    socket = await start_voice(conversation.pk, user)

    await speak(socket)
    await next_event(socket, "transcribed")

    _, answer = await saved(conversation)
    used = await sync_to_async(memory_selectors.memories_used_by)(user, answer)
    assert [memory.text for memory in used] == ["Lives in Porto"]

    async def refreshed() -> bool:
        updates = realtime.events("session.update")
        return len(updates) == 2 and "Lives in Porto" in updates[-1]["session"]["instructions"]

    await eventually(refreshed)


async def test_a_function_call_before_the_words_arrive_is_tied_to_the_users_message(
    realtime, start_voice, conversation, user
):
    realtime.script(
        Say(
            "Please remember that I prefer window seats.",
            "Done, I will remember that.",
            call=("remember", {"text": "Prefers window seats", "kind": "preference"}),
            transcription="after",
        )
    )
    socket = await start_voice(conversation.pk, user)

    await speak(socket)
    await next_event(socket, "transcribed")

    question, answer = await saved(conversation)
    assert question.content == "Please remember that I prefer window seats."
    assert (answer.content, answer.status) == ("Done, I will remember that.", "complete")
    memory = await Memory.objects.filter(owner=user, text="Prefers window seats").afirst()
    assert memory is not None and memory.source_message_id == question.pk
    assert await ToolCall.objects.filter(message=answer, name="remember").aexists()


@pytest.mark.parametrize("transcription", ["failed", "never"])
async def test_words_never_transcribed_keep_a_marker_and_extract_nothing(
    realtime, start_voice, conversation, user, transcription
):
    realtime.script(
        Say(
            "I live in Porto.",
            "Sorry, could you say that again?",
            seconds_per_word=0.05,
            transcription=transcription,
        ),
        Say("I live in Porto.", "Porto, noted."),
    )
    socket = await start_voice(conversation.pk, user)
    await speak(socket)
    await next_event(socket, "answer_finished")
    await asyncio.sleep(1)

    await speak(socket)
    second = await next_event(socket, "answer_finished")

    first_question, first_answer, second_question, second_answer = await saved(conversation)
    assert (first_question.content, first_question.via) == (NOT_TRANSCRIBED, "voice")
    assert (first_answer.content, first_answer.status) == (
        "Sorry, could you say that again?",
        "complete",
    )
    assert (second_question.content, second["text"]) == ("I live in Porto.", "Porto, noted.")
    assert await extraction_runs(first_answer) == 0
    assert await extraction_runs(second_answer) == 1


async def test_speaking_over_an_answer_whose_words_come_late_keeps_each_part_in_its_turn(
    realtime, start_voice, conversation, user
):
    long_answer = " ".join(f"word{number}" for number in range(20))
    realtime.script(
        Say("Tell me a story.", long_answer, transcription="after"),
        Say("Stop.", "Okay.", transcription="after"),
    )
    socket = await start_voice(conversation.pk, user)
    await speak(socket)
    await next_event(socket, "transcribed")
    await asyncio.sleep(1)

    await speak(socket)
    await next_event(socket, "barge_in")
    events, _ = await frames_until(socket, "transcribed")

    assert [e["text"] for e in events if e["type"] == "answer_finished"][-1] == "Okay."
    await eventually(cancelled_upstream(realtime))
    (truncate,) = realtime.events("conversation.item.truncate")
    assert 500 < truncate["audio_end_ms"] < 5000
    story_question, story, stop_question, okay = await saved(conversation)
    assert (story_question.content, stop_question.content) == ("Tell me a story.", "Stop.")
    heard = story.content.split()
    assert (story.status, story.error) == ("incomplete", INTERRUPTED)
    assert 1 <= len(heard) < 20
    assert heard == long_answer.split()[: len(heard)]
    assert (okay.content, okay.status) == ("Okay.", "complete")
    assert await extraction_runs(story) == 1


async def test_words_of_a_turn_refused_by_the_rate_limit_still_reach_its_saved_message(
    realtime, start_voice, conversation, user, settings
):
    settings.CHAT_TURNS_PER_MINUTE = 0
    realtime.script(Say("I live in Porto.", "Porto, noted.", transcription="after"))
    socket = await start_voice(conversation.pk, user)

    await speak(socket)
    refused = await next_event(socket, "error")

    assert "at most 0 messages a minute" in refused["message"]

    async def filled() -> bool:
        return [(m.content, m.status) for m in await saved(conversation)] == [
            ("I live in Porto.", "error")
        ]

    # The words come after the refusal, with no event of their own.
    await eventually(filled)
