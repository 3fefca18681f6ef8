"""Issue 8 item 7: every answer ends (complete, stopped, interrupted or failed), whatever the
socket does."""

import asyncio

import pytest

from chat.models import Message
from tests.upstream import Text
from tests.websocket import delta_text, send_chat

pytestmark = pytest.mark.django_db(transaction=True)


async def statuses(conversation) -> list[str]:
    return [
        answer.status
        async for answer in Message.objects.filter(
            conversation=conversation, role=Message.Role.ASSISTANT
        )
    ]


async def statuses_once_ended(conversation, seconds: float) -> list[str]:
    for _ in range(int(seconds * 10)):
        if Message.Status.STREAMING not in await statuses(conversation):
            break
        await asyncio.sleep(0.1)
    return await statuses(conversation)


async def test_item7_queued_answers_all_end_after_the_socket_closes(
    open_chat, upstream, conversation, user
):
    upstream.script(*[Text("One two", delay=0.05)] * 5)
    socket = await open_chat(conversation.pk, user)
    for n in range(5):
        await send_chat(socket, f"Question {n}")
    while delta_text(await socket.receive_from(timeout=60)) is None:
        pass  # turn_started frames, until the first answer streams

    await socket.disconnect(timeout=10)

    assert await statuses_once_ended(conversation, 30) == [Message.Status.COMPLETE] * 5


async def test_stop_ends_the_answers_queued_behind_the_streaming_one(
    open_chat, upstream, conversation, user
):
    upstream.script(*[Text("One two three four five six", delay=0.3)] * 10)
    socket = await open_chat(conversation.pk, user)
    for n in range(10):
        await send_chat(socket, f"Question {n}")
    while delta_text(await socket.receive_from(timeout=60)) is None:
        pass

    await socket.send_to(text_data='{"stop": "1"}')

    assert await statuses_once_ended(conversation, 10) == [Message.Status.STOPPED] * 10
