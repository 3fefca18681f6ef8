"""Issue 8 item 16: frames the socket cannot use get a clear error, and the socket stays open."""

import pytest

from chat.models import Message
from tests.websocket import frames_until_final

pytestmark = pytest.mark.django_db(transaction=True)


async def saved_messages(conversation) -> list[Message]:
    return [message async for message in Message.objects.filter(conversation=conversation)]


async def test_item16_deeply_nested_json_gets_an_error_and_the_socket_stays_open(
    open_chat, upstream, conversation, user
):
    socket = await open_chat(conversation.pk, user)

    await socket.send_to(text_data="[" * 100_000 + "]" * 100_000)
    frame = await socket.receive_from(timeout=10)

    assert 'id="socket-errors"' in frame
    assert "That message could not be read" in frame
    await socket.send_to(text_data='{"message": "Still there?"}')
    *_, final = [frame async for frame in frames_until_final(socket)]
    assert "You said: Still there?" in final


async def test_item16_lone_surrogate_is_saved_replaced_and_answered(
    open_chat, upstream, conversation, user
):
    socket = await open_chat(conversation.pk, user)

    # What JSON.stringify sends for half of a broken emoji.
    await socket.send_to(text_data='{"message": "Broken \\ud83d emoji"}')
    frames = [frame async for frame in frames_until_final(socket)]

    question, answer = await saved_messages(conversation)
    assert question.content == "Broken \ufffd emoji"
    assert answer.status == Message.Status.COMPLETE
    assert "Broken \ufffd emoji" in frames[0]
    assert "You said: Broken \ufffd emoji" in frames[-1]
