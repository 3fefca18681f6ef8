"""Regenerate the last answer and edit the last message: new versions stream, the replaced ones
stay reachable, memories learned from an edited message are superseded, and neither is allowed
while an answer streams."""

import json

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message
from memories.models import Memory, MemoryEvent
from tests.upstream import Text, last_user_text
from tests.websocket import delta_text, frames_until_final, send_chat

pytestmark = pytest.mark.django_db(transaction=True)


async def finish(socket) -> list[str]:
    return [frame async for frame in frames_until_final(socket)]


async def regenerate(socket) -> None:
    await socket.send_to(text_data=json.dumps({"regenerate": "1"}))


async def edit(socket, text: str) -> None:
    await socket.send_to(text_data=json.dumps({"message": text, "edit": "1"}))


async def current_messages(conversation) -> list[tuple[str, str]]:
    return [
        (message.role, message.content)
        async for message in Message.objects.filter(conversation=conversation, is_replaced=False)
    ]


async def test_regenerate_streams_a_new_version_and_keeps_the_old_one_reachable(
    open_chat, upstream, conversation, user, client_for
):
    upstream.script(Text("First try."), Text("Second try."))
    socket = await open_chat(conversation.pk, user)
    await send_chat(socket, "Name a colour")
    await finish(socket)

    await regenerate(socket)
    frames = await finish(socket)

    old = await Message.objects.aget(content="First try.")
    assert f'<div id="{old.dom_id}" hx-swap-oob="delete">' in frames[0]
    assert "message--user" not in frames[0]  # the question stays where it is
    assert "Second try." in frames[-1] and "First try." in frames[-1]  # as version 1 of 2
    assert await current_messages(conversation) == [
        ("user", "Name a colour"),
        ("assistant", "Second try."),
    ]
    # The model was asked the same question again, without the replaced answer in its input.
    request = upstream.responses_bodies()[-1]
    assert last_user_text(request) == "Name a colour"
    assert "First try." not in json.dumps(request)
    page = await sync_to_async(lambda: client_for(user).get(f"/c/{conversation.pk}/"))()
    assert "Version 2 of 2" in page.content.decode()
    assert "First try." in page.content.decode()


async def test_edit_resends_the_new_text_and_supersedes_what_the_old_one_taught(
    open_chat, upstream, conversation, user, make_memory
):
    upstream.script(Text("Lisbon is lovely."), Text("Porto is lovely."))
    socket = await open_chat(conversation.pk, user)
    await send_chat(socket, "I live in Lisbon")
    await finish(socket)
    question = await Message.objects.aget(content="I live in Lisbon")
    learned = await sync_to_async(make_memory)(user, "Lives in Lisbon", source_message=question)

    await edit(socket, "I live in Porto")
    frames = await finish(socket)

    answer = await Message.objects.aget(content="Lisbon is lovely.")
    assert f'<div id="{question.dom_id}" hx-swap-oob="delete">' in frames[0]
    assert f'<div id="{answer.dom_id}" hx-swap-oob="delete">' in frames[0]
    assert "I live in Porto" in frames[0]
    assert await current_messages(conversation) == [
        ("user", "I live in Porto"),
        ("assistant", "Porto is lovely."),
    ]
    assert last_user_text(upstream.responses_bodies()[-1]) == "I live in Porto"
    await learned.arefresh_from_db()
    assert learned.status == Memory.Status.SUPERSEDED
    assert await MemoryEvent.objects.filter(
        memory=learned, action=MemoryEvent.Action.SUPERSEDED
    ).aexists()


async def test_regenerate_or_edit_while_an_answer_streams_is_refused_clearly(
    open_chat, upstream, conversation, user
):
    upstream.script(Text("One two three four five six", delay=0.3))
    socket = await open_chat(conversation.pk, user)
    await send_chat(socket, "Tell me a story")
    while delta_text(await socket.receive_from(timeout=60)) is None:
        pass

    await regenerate(socket)
    while "socket-errors" not in (refusal := await socket.receive_from(timeout=10)):
        pass
    await edit(socket, "Something else")
    while "socket-errors" not in (second := await socket.receive_from(timeout=10)):
        pass

    assert "An answer is still being written" in refusal
    assert "An answer is still being written" in second
    assert await Message.objects.filter(conversation=conversation).acount() == 2


async def test_regenerate_with_nothing_answered_says_so(open_chat, conversation, user):
    socket = await open_chat(conversation.pk, user)

    await regenerate(socket)

    assert "no answered message to regenerate" in await socket.receive_from(timeout=10)
