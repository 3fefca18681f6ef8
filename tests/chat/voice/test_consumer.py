"""The voice websocket: access, one session per user, bad input and limits."""

import pytest
from asgiref.sync import sync_to_async

from tests.chat.voice.conftest import RATE, close_code, silence

pytestmark = pytest.mark.django_db(transaction=True)


async def test_anonymous_socket_is_closed_with_4401(connect_voice, conversation):
    socket = await connect_voice(conversation.pk, None)

    assert await socket.receive_output() == {"type": "websocket.close", "code": 4401}


async def test_another_users_conversation_is_closed_with_4404(
    connect_voice, user, other_user, make_conversation
):
    theirs = await sync_to_async(make_conversation)(other_user)
    socket = await connect_voice(theirs.pk, user)

    assert await socket.receive_output() == {"type": "websocket.close", "code": 4404}


async def test_a_second_voice_session_of_the_same_user_is_refused_until_the_first_ends(
    start_voice, connect_voice, user, make_conversation
):
    first = await start_voice((await sync_to_async(make_conversation)(user)).pk, user)
    other_conversation = await sync_to_async(make_conversation)(user)

    second = await connect_voice(other_conversation.pk, user)
    events, code = await close_code(second)

    assert code == 4409
    assert "already open" in events[0]["message"]
    await first.send_json_to({"type": "stop"})
    assert (await close_code(first))[1] == 1000
    third = await start_voice(other_conversation.pk, user)
    assert third is not None


async def test_another_users_session_does_not_block_mine(
    start_voice, user, other_user, make_conversation
):
    await start_voice((await sync_to_async(make_conversation)(other_user)).pk, other_user)

    assert await start_voice((await sync_to_async(make_conversation)(user)).pk, user)


async def test_a_wrong_sample_rate_is_refused_with_a_clear_error(connect_voice, conversation, user):
    socket = await connect_voice(conversation.pk, user)

    await socket.send_json_to({"type": "start", "sample_rate": 44100})
    events, code = await close_code(socket)

    assert code == 4400
    assert events == [
        {
            "type": "error",
            "message": "Audio must be 16000 Hz mono PCM16 (this stream declared 44100 Hz).",
        }
    ]


async def test_audio_before_the_start_frame_closes_the_socket(connect_voice, conversation, user):
    socket = await connect_voice(conversation.pk, user)

    await socket.send_to(bytes_data=silence(0.1))
    events, code = await close_code(socket)

    assert code == 4400
    assert "start frame" in events[0]["message"]


async def test_a_frame_of_half_samples_closes_the_socket(start_voice, conversation, user):
    socket = await start_voice(conversation.pk, user)

    await socket.send_to(bytes_data=b"\x01\x02\x03")
    events, code = await close_code(socket)

    assert code == 4400
    assert "whole 16-bit samples" in events[0]["message"]


async def test_garbage_control_frames_get_an_error_and_the_session_goes_on(
    connect_voice, conversation, user
):
    socket = await connect_voice(conversation.pk, user)

    for garbage in ["not json", "[1, 2]", '{"no": "type"}', '{"type": "dance"}']:
        await socket.send_to(text_data=garbage)
        assert (await socket.receive_json_from())["type"] == "error"
    await socket.send_json_to({"type": "start", "sample_rate": RATE})

    assert (await socket.receive_json_from())["type"] == "ready"


async def test_audio_faster_than_real_time_closes_the_socket(start_voice, conversation, user):
    socket = await start_voice(conversation.pk, user)

    await socket.send_to(bytes_data=silence(5))
    events, code = await close_code(socket)

    assert code == 4429
    assert events[-1]["message"] == "Audio is arriving faster than real time."


async def test_a_silent_session_is_closed_after_the_idle_timeout(
    start_voice, conversation, user, settings
):
    settings.VOICE_IDLE_SECONDS = 1
    socket = await start_voice(conversation.pk, user)

    await socket.send_to(bytes_data=silence(0.5))
    events, code = await close_code(socket, seconds=5)

    assert code == 4408
    assert "Nobody spoke" in events[-1]["message"]


async def test_a_session_is_closed_at_its_time_limit(start_voice, conversation, user, settings):
    settings.VOICE_MAX_SESSION_SECONDS = 1
    socket = await start_voice(conversation.pk, user)

    events, code = await close_code(socket, seconds=5)

    assert code == 4408
    assert "time limit" in events[-1]["message"]


async def test_voice_turned_off_closes_with_4403(connect_voice, conversation, user, settings):
    settings.VOICE_ENABLED = False
    socket = await connect_voice(conversation.pk, user)

    events, code = await close_code(socket)

    assert code == 4403
    assert events[0]["message"] == "Voice is turned off on this server."
