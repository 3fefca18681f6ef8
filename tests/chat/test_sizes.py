"""Issue 8 item 9: what is sent to the model, stored and rendered has a size limit."""

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message
from tests.upstream import Text
from tests.websocket import frames_until_final, send_chat

pytestmark = pytest.mark.django_db(transaction=True)

DAPHNE_FRAME_LIMIT = 1024 * 1024


@sync_to_async
def add_turn(conversation, question: str, answer: str) -> None:
    Message.objects.create(conversation=conversation, role=Message.Role.USER, content=question)
    Message.objects.create(conversation=conversation, role=Message.Role.ASSISTANT, content=answer)


async def test_item9_history_sent_to_the_model_is_capped_by_tokens(
    open_chat, upstream, conversation, user, settings
):
    settings.CHAT_HISTORY_TOKENS = 1000
    await add_turn(conversation, "Write me a novel", "Once upon a time " * 250_000)
    await add_turn(conversation, "Shorter please", "Once.")
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "Thanks!")
    [frame async for frame in frames_until_final(socket)]

    (body,) = upstream.responses_bodies()
    contents = [item["content"] for item in body["input"]]
    assert contents[-3:] == ["Shorter please", "Once.", "Thanks!"]
    assert sum(len(content) for content in contents) <= 1000 * 4
    novel = next(content for content in contents if content.startswith("Once upon a time"))
    assert novel.endswith("[The rest of this message was cut here.]")


async def test_item9_a_huge_answer_is_cut_and_its_final_frame_stays_far_below_1_mib(
    open_chat, upstream, conversation, user, settings
):
    # Characters that grow the most when escaped for HTML, in 64 KB deltas: 4 MB in all.
    chunk = '"<&>' * 16_384
    upstream.script(Text(chunk * 64, chunks=[chunk] * 64))
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "Say a lot")
    frames = [frame async for frame in frames_until_final(socket)]

    answer = await Message.objects.filter(role=Message.Role.ASSISTANT).alast()
    assert answer.status == Message.Status.INCOMPLETE
    assert len(answer.content) == settings.CHAT_MAX_ANSWER_CHARS
    assert f"{settings.CHAT_MAX_ANSWER_CHARS:,} characters" in answer.error
    assert max(len(frame.encode()) for frame in frames) < DAPHNE_FRAME_LIMIT / 2


async def test_item9_a_too_long_message_is_stored_truncated_and_says_so(
    open_chat, upstream, conversation, user, settings
):
    socket = await open_chat(conversation.pk, user)
    limit = settings.CHAT_MAX_MESSAGE_CHARS

    await send_chat(socket, "y" * 1_000_000)
    frame = await socket.receive_from(timeout=30)

    (message,) = [m async for m in Message.objects.filter(conversation=conversation)]
    assert (message.status, message.content) == (Message.Status.ERROR, "y" * limit)
    assert f"Only its first {limit:,} characters were saved" in message.error
    assert f"Only its first {limit:,} characters were saved" in frame
    assert upstream.responses_bodies() == []
