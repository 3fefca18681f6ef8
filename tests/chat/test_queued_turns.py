"""Issue 8 item 7: every answer ends (complete, interrupted or failed), whatever the socket does."""

import pytest

from chat.models import Message
from tests.upstream import Text
from tests.websocket import delta_text, send_chat

pytestmark = pytest.mark.django_db(transaction=True)


async def test_item7_answers_queued_behind_the_turn_lock_end_when_the_socket_closes(
    open_chat, upstream, conversation, user
):
    upstream.script(*[Text("One two three four five six", delay=0.3)] * 10)
    socket = await open_chat(conversation.pk, user)
    for n in range(10):
        await send_chat(socket, f"Question {n}")
    while delta_text(await socket.receive_from(timeout=60)) is None:
        pass  # turn_started frames, until the first answer streams

    await socket.disconnect(timeout=10)

    answers = [
        answer
        async for answer in Message.objects.filter(
            conversation=conversation, role=Message.Role.ASSISTANT
        )
    ]
    assert len(answers) == 10
    assert [answer.status for answer in answers] == [Message.Status.INCOMPLETE] * 10
    assert all(answer.error == "The answer was interrupted." for answer in answers)
