"""Spoken turns: the transcript goes through the typed chat's turn, and the answer is spoken."""

import json

import pytest

from chat.models import Message
from chat.voice.services import INTERRUPTED
from memories.models import Memory
from tests.chat.voice.conftest import SENTENCE, next_event, send_audio, silence

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _audio_sent_in_bursts(settings):
    # These tests send their speech at once rather than at the pace of a microphone.
    settings.VOICE_AUDIO_AHEAD_SECONDS = 120


async def saved(conversation) -> list[Message]:
    return [message async for message in Message.objects.filter(conversation=conversation)]


async def memories_of(user) -> list[str]:
    return [memory.text async for memory in Memory.objects.filter(owner=user)]


async def speak_one_turn(socket, spoken_sentence) -> tuple[dict, dict, list[bytes]]:
    """Say the sentence; the turn as it starts, the answer as it finishes, the audio sent back."""
    await send_audio(socket, silence(0.5) + spoken_sentence + silence(1))
    started = await next_event(socket, "turn_started")
    audio: list[bytes] = []
    while True:
        frame = await socket.receive_output(timeout=60)
        if frame.get("bytes"):
            audio.append(frame["bytes"])
        elif frame.get("text") and '"answer_finished"' in frame["text"]:
            finished = frame["text"]
        elif frame.get("text") and '"answer_spoken"' in frame["text"]:
            return started, finished, audio


async def test_a_spoken_sentence_becomes_a_saved_voice_turn_with_a_spoken_answer(
    start_voice, conversation, user, spoken_sentence
):
    socket = await start_voice(conversation.pk, user)

    started, finished, audio = await speak_one_turn(socket, spoken_sentence)

    assert started["transcript"] == SENTENCE
    assert SENTENCE in started["html"]
    assert started["html"].count(">Spoken</span>") == 2
    question, answer = await saved(conversation)
    assert (question.role, question.content, question.via) == ("user", SENTENCE, "voice")
    assert (answer.role, answer.status, answer.via) == ("assistant", "complete", "voice")
    assert "You said" in answer.content and '"status": "complete"' in finished
    # Seconds of Piper speech, as 16-bit samples at 22 050 Hz.
    assert sum(len(chunk) for chunk in audio) > 22_050 * 2


async def test_what_was_said_is_remembered_after_the_exchange(
    start_voice, conversation, user, spoken_sentence
):
    socket = await start_voice(conversation.pk, user)

    await speak_one_turn(socket, spoken_sentence)

    remembered = " ".join(await memories_of(user)).lower()
    assert "porto" in remembered
    assert "window seats" in remembered


async def test_a_temporary_chat_remembers_nothing_said_aloud(
    start_voice, make_conversation, user, spoken_sentence
):
    from asgiref.sync import sync_to_async

    temporary = await sync_to_async(make_conversation)(user, is_temporary=True)
    socket = await start_voice(temporary.pk, user)

    started, _, _ = await speak_one_turn(socket, spoken_sentence)

    assert started["transcript"] == SENTENCE
    assert await memories_of(user) == []


async def test_speaking_over_the_answer_stops_it_and_keeps_only_what_was_heard(
    start_voice, conversation, user, spoken_sentence, say
):
    socket = await start_voice(conversation.pk, user)
    await send_audio(socket, silence(0.5) + spoken_sentence + silence(1))
    await next_event(socket, "turn_started")
    streamed = []
    while not (frame := await socket.receive_output(timeout=60)).get("bytes"):
        if '"answer_delta"' in frame.get("text", ""):
            streamed.append(json.loads(frame["text"])["text"])

    await send_audio(socket, say("Wait, stop."))
    await next_event(socket, "barge_in")
    interrupted = await next_event(socket, "answer_finished")

    _, answer, *_ = await saved(conversation)
    assert (answer.status, answer.error, answer.via) == ("incomplete", INTERRUPTED, "voice")
    assert interrupted["text"] == answer.content
    generated, heard = "".join(streamed).split(), answer.content.split()
    # Cut at a word the user heard: a beginning of the answer, never all of it.
    assert len(heard) < len(generated)
    assert heard == generated[: len(heard)]
