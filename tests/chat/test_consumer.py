"""The chat websocket, through WebsocketCommunicator: access, saving, errors and streaming."""

import json
import re
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError

from chat import agent, services
from chat.models import Message
from tests.upstream import Cut, HTTPError, Text
from tests.websocket import DELTA_FRAME, delta_text, frames_until_final, send_chat

pytestmark = pytest.mark.django_db(transaction=True)


async def receive_all(socket) -> list[str]:
    return [frame async for frame in frames_until_final(socket)]


async def saved_messages(conversation) -> list[Message]:
    return [message async for message in Message.objects.filter(conversation=conversation)]


async def test_anonymous_socket_is_closed_with_4401(connect, conversation):
    socket = await connect(conversation.pk, None)

    connected, _ = await socket.connect()

    assert connected
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4401}
    await socket.disconnect()


async def test_foreign_origin_is_rejected(connect, conversation, user):
    socket = await connect(conversation.pk, user, origin="https://evil.example")

    connected, _ = await socket.connect()

    assert not connected


async def test_another_users_conversation_is_closed_with_4404(
    connect, user, other_user, make_conversation
):
    theirs = await sync_to_async(make_conversation)(other_user)
    socket = await connect(theirs.pk, user)

    await socket.connect()

    assert await socket.receive_output() == {"type": "websocket.close", "code": 4404}
    await socket.disconnect()


async def test_missing_conversation_is_closed_with_4404(connect, conversation, user):
    socket = await connect(conversation.pk + 1000, user)

    await socket.connect()

    assert await socket.receive_output() == {"type": "websocket.close", "code": 4404}
    await socket.disconnect()


async def test_user_message_is_saved_even_when_the_model_fails(
    open_chat, upstream, conversation, user
):
    upstream.script(*[HTTPError(500, "boom")] * 3)
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "Where is my order?")
    started, *_, final = await receive_all(socket)

    assert "Where is my order?" in started
    question, answer = await saved_messages(conversation)
    assert (question.role, question.content, question.status) == (
        "user",
        "Where is my order?",
        "complete",
    )
    assert (answer.role, answer.status, answer.content) == ("assistant", "error", "")
    assert answer.error == "The model server had an internal error (500). Please try again."
    assert f'id="{answer.dom_id}"' in final
    assert answer.error in final


async def test_empty_message_gets_an_error_frame_and_nothing_is_saved(
    open_chat, upstream, conversation, user
):
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "   \n ")
    frame = await socket.receive_from()

    assert 'id="socket-errors"' in frame
    assert "Type a message first." in frame
    assert await saved_messages(conversation) == []
    assert upstream.responses_bodies() == []


async def test_too_long_message_is_saved_cut_to_the_limit_as_error_and_not_sent(
    open_chat, upstream, conversation, user, settings
):
    settings.CHAT_MAX_MESSAGE_CHARS = 20
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "x" * 21)
    frame = await socket.receive_from()

    (message,) = await saved_messages(conversation)
    assert (message.role, message.content, message.status) == ("user", "x" * 20, "error")
    assert "the limit is 20" in message.error
    assert 'id="socket-errors"' in frame
    assert "the limit is 20" in frame
    assert upstream.responses_bodies() == []


@pytest.mark.parametrize("payload", ["{not json", '{"text": "hi"}', '{"message": 42}', "[]"])
async def test_unreadable_frame_gets_an_error_frame_and_the_socket_goes_on(
    open_chat, upstream, conversation, user, payload
):
    socket = await open_chat(conversation.pk, user)

    await socket.send_to(text_data=payload)
    frame = await socket.receive_from()

    assert 'id="socket-errors"' in frame
    assert "That message could not be read" in frame
    assert await saved_messages(conversation) == []
    await send_chat(socket, "Still there?")
    *_, final = await receive_all(socket)
    assert "You said: Still there?" in final


async def test_a_message_that_finds_the_database_down_goes_back_to_the_composer(
    open_chat, upstream, conversation, user, monkeypatch
):
    start_turn = services.start_turn

    def database_restarting(*args, **kwargs):
        monkeypatch.setattr(services, "start_turn", start_turn)
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(services, "start_turn", database_restarting)
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "Plans for <Saturday> & Sunday")
    frame = await socket.receive_from()

    assert "cannot reach its database" in frame
    textarea = re.search(r'<textarea id="composer-message"[^>]*>(.*?)</textarea>', frame, re.S)
    assert 'hx-swap-oob="true"' in textarea[0]
    assert textarea[1] == "Plans for &lt;Saturday&gt; &amp; Sunday"
    assert await saved_messages(conversation) == []
    await send_chat(socket, "Plans for <Saturday> & Sunday")
    *_, final = await receive_all(socket)
    assert "You said: Plans for" in final
    (saved, _answer) = await saved_messages(conversation)
    assert saved.content == "Plans for <Saturday> & Sunday"


async def test_an_unreadable_frame_never_puts_anything_in_the_composer(
    open_chat, conversation, user
):
    socket = await open_chat(conversation.pk, user)

    await socket.send_to(text_data='{"message": 42}')

    assert "<textarea" not in await socket.receive_from()


async def test_deltas_arrive_in_order_batched_by_the_flush_interval(
    open_chat, upstream, conversation, user, settings
):
    settings.CHAT_STREAM_FLUSH_SECONDS = 0.05
    chunks = [f" word{n}" for n in range(200)]
    upstream.script(Text("".join(chunks), chunks=chunks, delay=0.001))
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "Count for me")
    arrivals: list[tuple[float, str]] = []
    async for frame in frames_until_final(socket):
        text = delta_text(frame)
        if text is not None:
            arrivals.append((time.monotonic(), text))

    assert "".join(text for _, text in arrivals) == "".join(chunks)
    assert 2 <= len(arrivals) < len(chunks) / 4
    # A batch leaves at most once per interval: the frames cannot outnumber the intervals the
    # stream took, give or take one for the first frame and one of slack.
    elapsed = arrivals[-1][0] - arrivals[0][0]
    assert len(arrivals) <= elapsed / settings.CHAT_STREAM_FLUSH_SECONDS + 2


async def test_model_output_is_escaped_in_deltas_and_in_the_final_frame(
    open_chat, upstream, conversation, user
):
    script = "<script>alert(1)</script>"
    upstream.script(Text(script, chunks=["<scr", "ipt>alert(1)</", "script>"]))
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "Say something dangerous")
    frames = await receive_all(socket)

    payloads = [match["text"] for match in map(DELTA_FRAME.fullmatch, frames) if match]
    assert "".join(payloads) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in frames[-1]
    assert not any("<script" in frame or "</script" in frame for frame in frames)


async def test_upstream_cut_keeps_the_partial_answer_with_an_error(
    open_chat, upstream, conversation, user
):
    upstream.script(Cut("Alpha beta gamma delta", after_chunks=2))
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "Recite the alphabet")
    frames = await receive_all(socket)

    _, answer = await saved_messages(conversation)
    assert (answer.status, answer.content) == (Message.Status.INCOMPLETE, "Alpha beta")
    assert answer.error == agent.BROKEN_STREAM
    assert "".join(filter(None, map(delta_text, frames))) == "Alpha beta"
    assert "message--incomplete" in frames[-1]
    assert agent.BROKEN_STREAM in frames[-1]


async def test_final_answer_stores_response_id_tokens_and_time_to_first_token(
    open_chat, upstream, conversation, user
):
    upstream.script(Text("Madrid is the capital.", chunks=["Madrid", " is", " the", " capital."]))
    socket = await open_chat(conversation.pk, user)
    started = time.perf_counter()

    await send_chat(socket, "What is the capital of Spain?")
    frames = await receive_all(socket)
    elapsed_ms = (time.perf_counter() - started) * 1000

    question, answer = await saved_messages(conversation)
    assert (answer.status, answer.content) == (Message.Status.COMPLETE, "Madrid is the capital.")
    assert answer.model_name == "test-model"
    assert re.fullmatch(r"resp_\d+", answer.upstream_response_id)
    body = upstream.responses_bodies()[0]
    assert answer.input_tokens == max(1, len(json.dumps(body["input"])) // 4)
    assert answer.output_tokens == 4
    assert 0 < answer.time_to_first_token_ms < elapsed_ms
    assert body["input"][-1] == {"role": "user", "content": question.content}
    assert "message--complete" in frames[-1]
    assert "Madrid is the capital." in frames[-1]


async def test_without_an_upstream_the_offline_model_answers_over_the_socket(
    open_chat, conversation, user
):
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "I prefer green tea for breakfast")
    frames = await receive_all(socket)

    _, answer = await saved_messages(conversation)
    assert (answer.status, answer.model_name) == (Message.Status.COMPLETE, "offline-demo")
    assert answer.content.startswith("(Offline demo model.) You said: “I prefer green tea")
    assert "".join(filter(None, map(delta_text, frames))) == answer.content
    assert answer.upstream_response_id.startswith("resp_offline_")


async def test_the_first_message_names_the_conversation_on_the_page(open_chat, conversation, user):
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "Plan a <b>trip</b> to Porto")
    first_frame = await socket.receive_from(timeout=30)

    assert '<h1 id="conversation-title" class="chat__title" hx-swap-oob="true">' in first_frame
    assert "Plan a &lt;b&gt;trip&lt;/b&gt; to Porto</h1>" in first_frame
    assert f'<li id="conversation-{conversation.pk}"' in first_frame
