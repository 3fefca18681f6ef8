"""Issue 8 items 8 and 10: every upstream failure reaches the user as a clear message of ours;
the upstream's own words (which may carry a key or the user's text) go nowhere but a redacted log.
"""

import logging

import pytest

from chat import agent
from chat.models import Message
from tests.upstream import ErrorEvent, Failed, HTTPError, Malformed, StreamError
from tests.websocket import delta_text, frames_until_final, send_chat

pytestmark = pytest.mark.django_db(transaction=True)

FAKE_KEY = "sk-proj-FAKEFAKEFAKE0123456789"
USER_TEXT = "my bank PIN is 4321"
UPSTREAM_TEXT = f"Incorrect API key provided: {FAKE_KEY}. Input was: {USER_TEXT}"


async def ask(open_chat, conversation, user, text: str = USER_TEXT) -> tuple[list[str], Message]:
    socket = await open_chat(conversation.pk, user)
    await send_chat(socket, text)
    frames = [frame async for frame in frames_until_final(socket)]
    answer = await Message.objects.filter(
        conversation=conversation, role=Message.Role.ASSISTANT
    ).alast()
    return frames, answer


async def test_item8_invalid_json_in_a_data_line_ends_the_reply_with_a_failure(upstream):
    upstream.script(Malformed("Alpha beta gamma", after_chunks=2))

    events = [
        event
        async for event in agent.stream_reply(
            instructions="Answer.", input_items=[{"role": "user", "content": "Hi"}]
        )
    ]

    assert events == [
        agent.TextDelta("Alpha"),
        agent.TextDelta(" beta"),
        agent.ReplyFailed(agent.UNREADABLE_STREAM),
    ]


@pytest.mark.parametrize(
    "data",
    [
        "[1, 2]",
        '{"type": "response.output_text.delta", "delta": 7}',
        '{"type": "response.output_text.delta"}',
        '{"type": "response.completed", "response": "done"}',
        '{"type": "response.completed", "response": {"id": 5}}',
        '{"type": "response.completed", "response": {"id": "r", "usage": {"input_tokens": "9"}}}',
        '{"type": "response.output_item.done", "item": {"type": "function_call", "name": "x"}}',
        '{"type": "response.output_item.done", "item": {"type": "function_call", "name": "x", '
        '"call_id": "c", "arguments": {"query": "q"}}}',
    ],
)
async def test_item8_an_event_of_the_wrong_shape_ends_the_reply_with_a_failure(upstream, data):
    # Events are read as JSON objects (chat.agent._response_events): each field a turn uses is
    # checked, so a hostile or broken server gets the same failure as unreadable JSON.
    upstream.script(Malformed("Alpha beta gamma", after_chunks=1, data=data))

    events = [
        event
        async for event in agent.stream_reply(
            instructions="Answer.", input_items=[{"role": "user", "content": "Hi"}]
        )
    ]

    assert events == [agent.TextDelta("Alpha"), agent.ReplyFailed(agent.UNREADABLE_STREAM)]


async def test_item8_invalid_json_mid_stream_reaches_the_page_and_keeps_the_partial(
    open_chat, upstream, conversation, user, caplog
):
    upstream.script(Malformed("Alpha beta gamma", after_chunks=2))

    frames, answer = await ask(open_chat, conversation, user)

    assert (answer.status, answer.content) == (Message.Status.INCOMPLETE, "Alpha beta")
    assert answer.error == agent.UNREADABLE_STREAM
    assert "".join(filter(None, map(delta_text, frames))) == "Alpha beta"
    assert agent.UNREADABLE_STREAM in frames[-1]
    assert "message--streaming" not in frames[-1]
    assert not [record for record in caplog.records if record.exc_info]


@pytest.mark.parametrize(
    ("behaviour", "shown"),
    [
        (HTTPError(400, UPSTREAM_TEXT), "The model server rejected the request (400)."),
        (Failed(UPSTREAM_TEXT), "The model failed to answer."),
        (ErrorEvent(UPSTREAM_TEXT), "The model server reported an error while answering."),
        (
            StreamError("Alpha beta", after_chunks=1, message=UPSTREAM_TEXT),
            "The model server reported an error while answering.",
        ),
    ],
)
async def test_item10_upstream_error_text_is_replaced_by_ours_and_logged_without_secrets(
    open_chat, upstream, conversation, user, caplog, behaviour, shown
):
    upstream.script(behaviour)
    caplog.set_level(logging.INFO)

    frames, answer = await ask(open_chat, conversation, user)

    assert answer.error == shown
    assert shown in frames[-1]
    page_and_logs = "".join(frames) + answer.error + caplog.text
    assert FAKE_KEY not in page_and_logs
    assert "Incorrect API key" not in page_and_logs
    assert USER_TEXT not in caplog.text
    upstream_logs = [r for r in caplog.records if r.name == "chat.agent"]
    assert upstream_logs, "the upstream's failure is logged for the operator"
