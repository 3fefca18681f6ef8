"""Answers belong to the server: they outlive the socket, every page of the conversation follows
them, and Stop (from any of those pages) ends them with what arrived kept."""

import asyncio
import json
import re

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError

from chat import runner, services
from chat.models import Message
from memories.models import ExtractionRun
from tests.upstream import Text
from tests.websocket import delta_text, frames_until_final, send_chat

pytestmark = pytest.mark.django_db(transaction=True)

STORY = "One two three four five six seven eight"
TEXT_OF_RENDER = re.compile(r'<div class="message__text[^"]*"[^>]*>(?P<text>.*?)</div>', re.DOTALL)


async def answer_of(conversation) -> Message:
    return await Message.objects.filter(
        conversation=conversation, role=Message.Role.ASSISTANT
    ).alast()


async def wait_until_ended(conversation, seconds: float = 30) -> Message:
    for _ in range(int(seconds * 10)):
        answer = await answer_of(conversation)
        if answer.status != Message.Status.STREAMING:
            return answer
        await asyncio.sleep(0.1)
    raise AssertionError("the answer never ended")


async def first_delta(socket) -> str:
    while (text := delta_text(await socket.receive_from(timeout=60))) is None:
        pass
    return text


async def stop(socket) -> None:
    await socket.send_to(text_data=json.dumps({"stop": "1"}))


async def test_closing_the_socket_leaves_the_answer_running(
    open_chat, upstream, conversation, user
):
    upstream.script(Text(STORY, delay=0.1))
    socket = await open_chat(conversation.pk, user)
    await send_chat(socket, "Tell me a long story")
    await first_delta(socket)

    await socket.disconnect(timeout=5)

    answer = await wait_until_ended(conversation)
    assert (answer.status, answer.content) == (Message.Status.COMPLETE, STORY)


async def test_a_page_that_reconnects_gets_the_text_so_far_then_the_rest(
    open_chat, upstream, conversation, user
):
    upstream.script(Text(STORY, delay=0.2))
    first = await open_chat(conversation.pk, user)
    await send_chat(first, "Tell me a long story")
    received = await first_delta(first)
    await first.disconnect(timeout=5)
    await asyncio.sleep(0.5)  # more text arrives while no page is open

    again = await open_chat(conversation.pk, user)
    snapshot = await again.receive_from(timeout=10)
    rest = [frame async for frame in frames_until_final(again)]

    so_far = TEXT_OF_RENDER.search(snapshot)["text"]
    assert "message--streaming" in snapshot
    assert so_far.startswith(received)
    assert len(so_far) > len(received)
    deltas = [delta_text(frame) for frame in rest[:-1]]
    assert so_far + "".join(deltas) == STORY
    assert "message--complete" in rest[-1]


async def test_a_second_tab_sees_the_turn_and_its_answer(open_chat, upstream, conversation, user):
    upstream.script(Text(STORY))
    sender = await open_chat(conversation.pk, user)
    watcher = await open_chat(conversation.pk, user)

    await send_chat(sender, "Hello from the laptop")
    frames = [frame async for frame in frames_until_final(watcher)]

    assert "Hello from the laptop" in frames[0]
    assert "".join(filter(None, map(delta_text, frames))) == STORY


async def test_stop_keeps_what_arrived_marked_stopped_and_the_next_message_works(
    open_chat, upstream, conversation, user
):
    upstream.script(Text(STORY, delay=0.3), Text("Right away."))
    socket = await open_chat(conversation.pk, user)
    await send_chat(socket, "Tell me a long story")
    received = await first_delta(socket)

    await stop(socket)
    frames = [frame async for frame in frames_until_final(socket, seconds=5)]

    assert "message--stopped" in frames[-1]
    assert "Stopped." in frames[-1]
    answer = await answer_of(conversation)
    assert answer.status == Message.Status.STOPPED
    assert answer.content.startswith(received)
    assert STORY.startswith(answer.content)
    assert answer.content != STORY
    assert answer.error == ""

    await send_chat(socket, "Something short")
    frames = [frame async for frame in frames_until_final(socket, seconds=10)]
    assert "message--complete" in frames[-1]
    assert "Right away." in frames[-1]


async def test_stop_from_another_page_of_the_conversation_stops_the_answer(
    open_chat, upstream, conversation, user
):
    upstream.script(Text(STORY, delay=0.3))
    sender = await open_chat(conversation.pk, user)
    other_tab = await open_chat(conversation.pk, user)
    await send_chat(sender, "Tell me a long story")
    await first_delta(sender)

    await stop(other_tab)

    frames = [frame async for frame in frames_until_final(sender, seconds=5)]
    assert "message--stopped" in frames[-1]
    assert (await answer_of(conversation)).status == Message.Status.STOPPED


async def test_a_stop_whose_message_is_lost_still_stops_the_answer_at_its_next_renewal(
    open_chat, upstream, conversation, user, settings
):
    # Renewed every 0.2 s. The Stop is only recorded, as when its channel layer message is lost.
    settings.CHAT_ANSWER_LEASE_SECONDS = 0.6
    upstream.script(Text(STORY, delay=0.3))
    socket = await open_chat(conversation.pk, user)
    await send_chat(socket, "Tell me a long story")
    received = await first_delta(socket)

    assert await sync_to_async(services.mark_answers_stopped)(conversation.pk) == 1

    frames = [frame async for frame in frames_until_final(socket, seconds=5)]
    assert "message--stopped" in frames[-1]
    answer = await answer_of(conversation)
    assert answer.status == Message.Status.STOPPED
    assert answer.content.startswith(received)
    assert answer.content != STORY


async def test_an_answer_whose_own_code_breaks_mid_stream_ends_failed_with_its_text_kept(
    open_chat, upstream, conversation, user, monkeypatch
):
    storable_text = services.storable_text

    def breaks_at_the_third_word(text: str) -> str:
        if "three" in text:
            raise RuntimeError("a bug of ours")
        return storable_text(text)

    monkeypatch.setattr(services, "storable_text", breaks_at_the_third_word)
    upstream.script(Text(STORY, delay=0.05))
    socket = await open_chat(conversation.pk, user)
    await send_chat(socket, "Tell me a long story")

    frames = [frame async for frame in frames_until_final(socket, seconds=10)]

    assert services.ANSWER_FAILED in frames[-1]
    answer = await answer_of(conversation)
    assert (answer.status, answer.error) == (Message.Status.INCOMPLETE, services.ANSWER_FAILED)
    assert answer.content == "One two"


async def test_a_lease_renewal_that_finds_the_database_down_does_not_end_the_renewals(
    open_chat, upstream, conversation, user, settings, monkeypatch
):
    # Renewed every 0.5 s; the answer takes 3 s, twice the lease: only renewals keep it alive.
    settings.CHAT_ANSWER_LEASE_SECONDS = 1.5
    renew_lease = services.renew_lease
    renewals: list[str] = []

    def database_down_at_first(answer):
        if not renewals:
            renewals.append("refused")
            raise OperationalError("the database system is shutting down")
        renewals.append("renewed")
        return renew_lease(answer)

    monkeypatch.setattr(services, "renew_lease", database_down_at_first)
    upstream.script(Text(STORY, delay=0.4))
    socket = await open_chat(conversation.pk, user)
    await send_chat(socket, "Tell me a long story")

    frames = [frame async for frame in frames_until_final(socket, seconds=10)]

    assert "message--complete" in frames[-1]
    assert renewals[0] == "refused"
    assert renewals.count("renewed") >= 2


async def test_the_memory_notice_is_pushed_to_the_page_when_extraction_ends(
    open_chat, upstream, conversation, user
):
    upstream.script(Text("Noted."))
    socket = await open_chat(conversation.pk, user)
    await send_chat(socket, "I live in Lisbon")
    await socket.receive_from(timeout=10)  # the turn starts

    answer = await answer_of(conversation)
    while f"answer-{answer.pk}-changes" not in (pushed := await socket.receive_from(timeout=120)):
        pass

    assert await ExtractionRun.objects.filter(message=answer, status="done").aexists()
    assert f'id="answer-{answer.pk}-changes" hx-swap-oob="outerHTML"' in pushed
    assert f'hx-get="/memories/answers/{answer.pk}/changes/" hx-trigger="load"' in pushed


async def test_no_memory_notice_reaches_another_users_page(
    open_chat, upstream, conversation, user, other_user, make_conversation
):
    upstream.script(Text("Noted."))
    theirs = await sync_to_async(make_conversation)(other_user)
    their_socket = await open_chat(theirs.pk, other_user)
    socket = await open_chat(conversation.pk, user)
    await send_chat(socket, "I live in Lisbon")
    await socket.receive_from(timeout=10)  # the turn starts
    answer = await answer_of(conversation)
    while f"answer-{answer.pk}-changes" not in await socket.receive_from(timeout=120):
        pass

    assert await their_socket.receive_nothing(timeout=0.5)


async def test_a_page_back_after_its_answer_ended_is_told_how_it_ended(
    open_chat, upstream, conversation, user
):
    upstream.script(Text(STORY, delay=0.1))
    first = await open_chat(conversation.pk, user)
    await send_chat(first, "Tell me a long story")
    await first_delta(first)
    await first.disconnect(timeout=5)
    answer = await wait_until_ended(conversation)

    again = await open_chat(conversation.pk, user)
    await again.send_to(text_data=json.dumps({"ended": [answer.pk]}))

    while f'id="message-{answer.pk}"' not in (told := await again.receive_from(timeout=10)):
        pass
    assert "message--complete" in told
    assert TEXT_OF_RENDER.search(told)["text"].strip() == f"<p>{STORY}</p>"


async def test_a_page_is_told_nothing_of_answers_outside_its_conversation(
    open_chat, conversation, user, other_user, make_conversation, make_turn
):
    theirs = await sync_to_async(make_conversation)(other_user)
    their_turn = await sync_to_async(make_turn)(theirs, "My secret plan", "Their answer")
    my_other = await sync_to_async(make_conversation)(user)
    other_turn = await sync_to_async(make_turn)(my_other, "Elsewhere", "Another answer")
    socket = await open_chat(conversation.pk, user)

    await socket.send_to(
        text_data=json.dumps({"ended": [their_turn.answer.pk, other_turn.answer.pk]})
    )

    assert await socket.receive_nothing(timeout=1)


async def test_asking_how_answers_ended_with_anything_but_ids_gets_a_clear_error(
    open_chat, conversation, user
):
    socket = await open_chat(conversation.pk, user)

    await socket.send_to(text_data=json.dumps({"ended": "1; drop table"}))

    assert "could not be read" in await socket.receive_from(timeout=5)


async def test_words_a_page_missed_while_the_channel_layer_was_down_come_in_the_next_frame(
    open_chat, upstream, conversation, user, monkeypatch
):
    upstream.script(Text(STORY, delay=0.1))
    socket = await open_chat(conversation.pk, user)
    publish = runner.publish
    word_frames = 0

    async def second_word_frame_lost(conversation_id: int, html: str) -> None:
        nonlocal word_frames
        if delta_text(html) is not None:
            word_frames += 1
            if word_frames == 2:
                raise ConnectionError("Redis is restarting")
        await publish(conversation_id, html)

    monkeypatch.setattr(runner, "publish", second_word_frame_lost)
    await send_chat(socket, "Tell me a long story")
    received = await first_delta(socket)
    caught_up = await socket.receive_from(timeout=10)

    assert "message--streaming" in caught_up
    text_so_far = TEXT_OF_RENDER.search(caught_up)["text"]
    # The words of the lost frame, and those after them, follow the ones the page has.
    assert text_so_far.startswith(received) and len(text_so_far) > len(received) + 1
    assert STORY.startswith(text_so_far)
    frames = [frame async for frame in frames_until_final(socket)]
    assert text_so_far + "".join(filter(None, map(delta_text, frames))) == STORY
    assert "message--complete" in frames[-1]
