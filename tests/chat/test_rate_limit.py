"""Issue 8 item 19: turns per user per minute are limited; a message over the limit is saved."""

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message
from tests.websocket import frames_until_final, next_frame, send_chat

pytestmark = pytest.mark.django_db(transaction=True)


async def test_item19_turns_over_the_per_minute_limit_are_saved_but_not_sent(
    open_chat, make_user, make_conversation, upstream, conversation, user, settings
):
    settings.CHAT_TURNS_PER_MINUTE = 2
    other_conversation = await sync_to_async(make_conversation)(user)
    socket = await open_chat(conversation.pk, user)
    other_socket = await open_chat(other_conversation.pk, user)

    await send_chat(socket, "First")
    [frame async for frame in frames_until_final(socket)]
    await send_chat(other_socket, "Second, elsewhere")
    [frame async for frame in frames_until_final(other_socket)]
    await send_chat(socket, "Third, too soon")
    frame = await next_frame(socket)

    assert 'id="socket-errors"' in frame
    assert "at most 2 messages a minute" in frame
    rejected = await Message.objects.filter(conversation=conversation).alast()
    assert (rejected.role, rejected.content, rejected.status) == (
        Message.Role.USER,
        "Third, too soon",
        Message.Status.ERROR,
    )
    assert "at most 2 messages a minute" in rejected.error
    assert len(upstream.responses_bodies()) == 2

    # Someone else's turns are counted apart.
    someone = await sync_to_async(make_user)()
    their_socket = await open_chat((await sync_to_async(make_conversation)(someone)).pk, someone)
    await send_chat(their_socket, "Theirs")
    *_, final = [frame async for frame in frames_until_final(their_socket)]
    assert "You said: Theirs" in final
