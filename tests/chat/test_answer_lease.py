"""Crash safety: an answer whose process died (its lease lapsed) is marked interrupted by any
other process, and its pages are told; a live answer renews its lease and is left alone."""

import asyncio
import threading
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chat.models import Message
from memories.models import ExtractionRun, Memory
from tests.upstream import Text
from tests.websocket import delta_text, send_chat

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_page_that_connects_sees_an_abandoned_answer_marked_interrupted(
    open_chat, conversation, user, make_message
):
    await sync_to_async(make_message)(conversation, "Tell me a story")
    abandoned = await sync_to_async(make_message)(
        conversation,
        "Once upon",
        role="assistant",
        status=Message.Status.STREAMING,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )

    socket = await open_chat(conversation.pk, user)
    frame = await socket.receive_from(timeout=10)

    await abandoned.arefresh_from_db()
    assert (abandoned.status, abandoned.content) == (Message.Status.INCOMPLETE, "Once upon")
    assert abandoned.error == "The answer was interrupted."
    assert f'id="{abandoned.dom_id}"' in frame and "message--incomplete" in frame


@pytest.fixture
def start_long_answer(open_chat, upstream, conversation, user, settings):
    """Start a 12-second answer on 2-second leases; return once its first words arrived."""

    async def start() -> None:
        settings.CHAT_ANSWER_LEASE_SECONDS = 2
        upstream.script(Text(" ".join(["word"] * 40), delay=0.3))
        socket = await open_chat(conversation.pk, user)
        await send_chat(socket, "Tell me a story")
        while delta_text(await socket.receive_from(timeout=60)) is None:
            pass

    return start


async def test_a_live_answer_renews_its_lease_and_is_not_swept(
    start_long_answer, open_chat, conversation, user
):
    await start_long_answer()

    await asyncio.sleep(4.5)  # over two lease lengths, swept four times meanwhile
    await open_chat(conversation.pk, user)  # connecting sweeps too

    answer = await Message.objects.filter(role="assistant").alast()
    assert answer.status == Message.Status.STREAMING
    assert answer.lease_expires_at > timezone.now()


async def test_a_lease_is_renewed_while_speech_work_fills_the_default_executor(start_long_answer):
    await start_long_answer()

    # asyncio.to_thread (transcription, synthesis) runs on the loop's default executor: fill it.
    speech_done = threading.Event()
    loop = asyncio.get_running_loop()
    speech = [loop.run_in_executor(None, speech_done.wait, 30) for _ in range(64)]
    try:
        await asyncio.sleep(4.5)  # over two lease lengths, swept four times meanwhile
        answer = await Message.objects.filter(role="assistant").alast()
    finally:
        speech_done.set()
        await asyncio.gather(*speech)

    assert answer.status == Message.Status.STREAMING
    assert answer.lease_expires_at > timezone.now()


async def test_the_sweep_queues_again_an_extraction_whose_worker_died(
    open_chat, upstream, conversation, user, make_turn, settings
):
    settings.CHAT_ANSWER_LEASE_SECONDS = 0.6  # swept every 0.3 s
    upstream.script_chat('{"memory": [{"text": "Is allergic to peanuts"}]}')
    turn = await sync_to_async(make_turn)(conversation, "I am allergic to peanuts.", "Noted.")
    run = await ExtractionRun.objects.acreate(
        message=turn.answer,
        attempts=1,
        claimed_by="a-killed-worker",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )

    await open_chat(conversation.pk, user)  # the process's sweep starts with its first page
    for _ in range(100):
        await run.arefresh_from_db()
        if run.status == ExtractionRun.Status.DONE:
            break
        await asyncio.sleep(0.1)

    assert (run.status, run.attempts, run.claimed_by) == ("done", 2, "")
    assert await Memory.objects.filter(owner=user, text="Is allergic to peanuts").acount() == 1
