"""Issue 8 item 17 (chat): NUL bytes never reach the database, on SQLite as on PostgreSQL."""

import pytest
from django.urls import reverse

from chat.models import Message
from tests.upstream import Text
from tests.websocket import frames_until_final, send_chat

pytestmark = pytest.mark.django_db(transaction=True)


async def test_item17_nul_bytes_are_stripped_from_a_message_and_its_title(
    open_chat, upstream, conversation, user
):
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "Hello\x00 there")
    frames = [frame async for frame in frames_until_final(socket)]

    question, answer = [m async for m in Message.objects.filter(conversation=conversation)]
    assert question.content == "Hello there"
    assert answer.status == Message.Status.COMPLETE
    await conversation.arefresh_from_db()
    assert conversation.title == "Hello there"
    assert "\x00" not in "".join(frames)


async def test_item17_nul_bytes_from_the_model_are_stripped_from_the_answer(
    open_chat, upstream, conversation, user
):
    upstream.script(Text("Null\x00 byte"))
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "Say something odd")
    [frame async for frame in frames_until_final(socket)]

    _, answer = [m async for m in Message.objects.filter(conversation=conversation)]
    assert (answer.status, answer.content) == (Message.Status.COMPLETE, "Null byte")


def test_item17_nul_bytes_are_stripped_from_a_renamed_title(client_for, conversation, user):
    client = client_for(user)

    response = client.post(
        reverse("chat:rename", args=[conversation.pk]), {"title": "Trip\x00 to Porto"}
    )

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.title == "Trip to Porto"
