"""The Realtime engine, against a Realtime-compatible server of our own through the real SDK."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from chat.models import ToolCall
from chat.voice.services import INTERRUPTED
from memories import selectors as memory_selectors
from memories import services as memory_services
from memories.models import Memory
from tests.chat.voice.conftest import (
    cancelled_upstream,
    close_code,
    eventually,
    next_event,
    saved,
    speak,
)
from tests.realtime_upstream import Drop, Fail, Say

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_turn_is_saved_and_its_function_call_is_answered_by_our_tools(
    realtime, start_voice, conversation, user
):
    realtime.script(
        Say(
            "Please remember that I prefer window seats.",
            "Done, I will remember that.",
            call=("remember", {"text": "Prefers window seats", "kind": "preference"}),
        )
    )
    socket = await start_voice(conversation.pk, user)

    await speak(socket)
    started = await next_event(socket, "turn_started")
    finished = await next_event(socket, "answer_finished")

    assert started["transcript"] == "Please remember that I prefer window seats."
    assert finished["status"] == "complete"
    question, answer = await saved(conversation)
    assert (question.content, question.via) == (started["transcript"], "voice")
    assert (answer.content, answer.status, answer.via) == (
        "Done, I will remember that.",
        "complete",
        "voice",
    )
    memory = await Memory.objects.filter(owner=user, text="Prefers window seats").afirst()
    assert memory is not None and memory.source_message_id == question.pk
    (output,) = realtime.events("conversation.item.create")
    assert output["item"]["type"] == "function_call_output"
    assert json.loads(output["item"]["output"])["id"] == str(memory.id)
    assert realtime.events("response.create")
    (call,) = [call async for call in ToolCall.objects.filter(message=answer)]
    assert (call.name, call.arguments, call.is_error) == (
        "remember",
        {"text": "Prefers window seats", "kind": "preference"},
        False,
    )
    assert call.output == output["item"]["output"]
    assert "1 tool call" in finished["html"]


async def test_the_session_starts_with_the_users_memories_and_tools_and_refreshes_them(
    realtime, start_voice, make_conversation, user, other_user
):
    await sync_to_async(memory_services.add_memory)(user, "Lives in Porto", kind="profile")
    await sync_to_async(memory_services.add_memory)(other_user, "Lives in Oslo", kind="profile")
    conversation = await sync_to_async(make_conversation)(user, title="Where do I live?")
    realtime.script(Say("Which city do I live in?", "Porto."))
    socket = await start_voice(conversation.pk, user)

    await speak(socket)
    await next_event(socket, "answer_finished")

    # The refresh is sent as the transcript arrives, while the server already speaks the answer:
    # the server may read it after the answer's end reached the page.
    async def both_sent() -> bool:
        return len(realtime.events("session.update")) >= 2

    await eventually(both_sent)
    first, refreshed = realtime.events("session.update")[:2]
    assert "Lives in Porto" in first["session"]["instructions"]
    assert "Oslo" not in json.dumps(realtime.received)
    assert {"remember", "search_memory", "forget"} <= {
        tool["name"] for tool in first["session"]["tools"]
    }
    assert "Lives in Porto" in refreshed["session"]["instructions"]
    assert first["session"]["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}


async def test_the_dashboard_lists_a_spoken_answer_among_those_that_used_a_memory(
    realtime, start_voice, make_conversation, user, client_for
):
    porto = await sync_to_async(memory_services.add_memory)(user, "Lives in Porto", kind="profile")
    conversation = await sync_to_async(make_conversation)(user, title="Weekend plans")
    realtime.script(Say("Which city do I live in?", "You live in Porto."))
    socket = await start_voice(conversation.pk, user)

    await speak(socket)
    await next_event(socket, "answer_finished")

    _, answer = await saved(conversation)
    used = await sync_to_async(memory_selectors.memories_used_by)(user, answer)
    assert [memory.text for memory in used] == ["Lives in Porto"]
    client = await sync_to_async(client_for)(user)
    page = await sync_to_async(client.get)(reverse("memories:detail", args=[porto.memory.pk]))
    used_by = page.content.decode().partition('id="used-by"')[2]
    assert f"#{answer.dom_id}" in used_by
    assert "You live in Porto." in used_by


async def test_a_temporary_chat_sends_no_memories_and_no_memory_tools(
    realtime, start_voice, make_conversation, user
):
    await sync_to_async(memory_services.add_memory)(user, "Lives in Porto", kind="profile")
    temporary = await sync_to_async(make_conversation)(user, is_temporary=True)
    realtime.script(Say("Where do I live?", "I do not know."))
    socket = await start_voice(temporary.pk, user)

    await speak(socket)
    await next_event(socket, "answer_finished")

    updates = json.dumps(realtime.events("session.update"))
    assert "Porto" not in updates
    assert '"remember"' not in updates


async def test_audio_from_upstream_reaches_the_browser_at_24_khz(
    realtime, start_voice, conversation, user, connect_voice
):
    realtime.script(Say("Hello there.", "Hi, how can I help?", seconds_per_word=0.1))
    socket = await connect_voice(conversation.pk, user)
    await socket.send_json_to({"type": "start", "sample_rate": 16000})
    ready = await socket.receive_json_from(timeout=10)

    await speak(socket)
    audio = 0
    while True:
        frame = await socket.receive_output(timeout=10)
        if frame.get("bytes"):
            audio += len(frame["bytes"])
        elif '"answer_finished"' in frame.get("text", ""):
            break

    assert ready["output_sample_rate"] == 24000
    # Five words of 0.1 s each, at 24 kHz PCM16.
    assert audio == 5 * 2400 * 2
    appended = realtime.events("input_audio_buffer.append")
    assert appended and all(event["audio"] for event in appended)


async def test_speaking_over_the_answer_cancels_it_upstream_and_keeps_what_was_heard(
    realtime, start_voice, conversation, user
):
    long_answer = " ".join(f"word{number}" for number in range(20))
    realtime.script(Say("Tell me a story.", long_answer), Say("Stop.", "Okay."))
    socket = await start_voice(conversation.pk, user)
    await speak(socket)
    await next_event(socket, "answer_finished")
    await asyncio.sleep(1)

    await speak(socket)
    await next_event(socket, "barge_in")
    await next_event(socket, "turn_started")
    await eventually(cancelled_upstream(realtime))

    (truncate,) = realtime.events("conversation.item.truncate")
    assert 500 < truncate["audio_end_ms"] < 5000
    _, story, *_ = await saved(conversation)
    heard = story.content.split()
    assert (story.status, story.error) == ("incomplete", INTERRUPTED)
    assert 1 <= len(heard) < 20
    assert heard == long_answer.split()[: len(heard)]


async def test_an_upstream_error_ends_the_session_clearly_and_keeps_the_transcript(
    realtime, start_voice, conversation, user
):
    realtime.script(Fail("I heard you say hello.", "The server is overloaded."))
    socket = await start_voice(conversation.pk, user)

    await speak(socket)
    events, code = await close_code(socket)

    assert code == 4502
    assert events[-1]["message"] == (
        "The realtime model reported an error: The server is overloaded."
    )
    question, answer = await saved(conversation)
    assert question.content == "I heard you say hello."
    assert answer.status == "incomplete"


async def test_a_dropped_upstream_keeps_the_words_so_far(realtime, start_voice, conversation, user):
    realtime.script(Drop("Are you there?", "Yes, I am here."))
    socket = await start_voice(conversation.pk, user)

    await speak(socket)
    events, code = await close_code(socket)

    assert code == 4502
    assert events[-1]["message"] in (
        "The connection to the realtime model was lost.",
        "The realtime model closed the connection.",
    )
    question, answer = await saved(conversation)
    assert (question.content, answer.content, answer.status) == (
        "Are you there?",
        "Yes,",
        "incomplete",
    )


async def test_a_refused_key_ends_the_session_with_a_clear_message(
    realtime, connect_voice, conversation, user
):
    realtime.refuse_with = 401
    socket = await connect_voice(conversation.pk, user)

    await socket.send_json_to({"type": "start", "sample_rate": 16000})
    events, code = await close_code(socket)

    assert code == 4502
    assert events[-1]["message"] == (
        "The realtime model refused our API key (401). Check OPENAI_API_KEY."
    )
