"""Redis restarting mid-answer (chat.runner over the Redis channel layer): the answer goes on and
is saved whole, and a page that reconnects gets its text so far and its end."""

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator

import pytest
from channels.testing import WebsocketCommunicator

from chat.models import Message
from config.repeated_logs import RepeatsFilter
from tests.chat.test_server_answers import first_delta, stop, wait_until_ended
from tests.processes import PrivateRedis
from tests.upstream import Text
from tests.websocket import delta_text, frames_until_final, send_chat

pytestmark = pytest.mark.django_db(transaction=True)

STORY = " ".join(f"word{number}" for number in range(16))


# Module scope: it outlives the chat tests' autouse clean-up, which flushes the channel layer.
@pytest.fixture(scope="module")
def redis(tmp_path_factory) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture(autouse=True)
def _redis_channel_layer(redis, settings) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis.url]},
        }
    }


@pytest.fixture
def reconnected_mid_answer(redis, open_chat, upstream, conversation, user):
    """Start a long answer, restart Redis once it streams, then open the page again: the page
    lost its socket with Redis (its consumer's receive failed), and comes back a second later."""

    async def reconnect() -> WebsocketCommunicator:
        upstream.script(Text(STORY, delay=0.25))
        page = await open_chat(conversation.pk, user)
        await send_chat(page, "Tell me a long story")
        await first_delta(page)
        redis.restart()
        await asyncio.sleep(1)
        return await open_chat(conversation.pk, user)

    return reconnect


async def test_an_answer_streams_on_through_a_redis_restart(reconnected_mid_answer, conversation):
    page = await reconnected_mid_answer()
    early = []
    while "message--streaming" not in (frame := await page.receive_from(timeout=10)):
        # Words published while the page's request for the text so far was on its way: the
        # text so far, which follows, replaces the whole answer on the page.
        early.append(frame)
    frames = [frame async for frame in frames_until_final(page)]

    assert all(map(delta_text, early))
    assert "".join(filter(None, map(delta_text, frames[:-1])))
    assert "message--complete" in frames[-1]
    answer = await wait_until_ended(conversation)
    assert (answer.status, answer.content) == (Message.Status.COMPLETE, STORY)


async def test_a_page_open_through_a_redis_restart_sees_the_whole_answer_end(
    redis, open_chat, upstream, conversation, user
):
    # The pub/sub layer subscribes the process's sockets again once Redis is back; the words
    # published while it was down are lost, so the next frame of the answer carries its whole
    # text so far, and its end is published once the layer takes it.
    upstream.script(Text(STORY, delay=0.25))
    page = await open_chat(conversation.pk, user)
    await send_chat(page, "Tell me a long story")
    await first_delta(page)
    redis.restart()
    frames = []
    while "message--complete" not in (frame := await page.receive_from(timeout=15)):
        frames.append(frame)

    assert STORY in frame
    # Words came on after the restart, not only the end.
    assert any(map(delta_text, frames)) or any("message--streaming" in f for f in frames)
    answer = await wait_until_ended(conversation)
    assert (answer.status, answer.content) == (Message.Status.COMPLETE, STORY)


async def test_stop_reaches_an_answer_after_a_redis_restart(reconnected_mid_answer, conversation):
    page = await reconnected_mid_answer()
    await stop(page)

    answer = await wait_until_ended(conversation)
    assert answer.status == Message.Status.STOPPED
    assert STORY.startswith(answer.content) and answer.content != STORY


class KeptRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_redis_down_for_seconds_is_logged_once_for_each_kind_of_complaint(
    redis, open_chat, upstream, conversation, user
):
    upstream.script(Text(STORY, delay=0.25))
    # Opening the first page sets Django up (config.asgi), which configures logging anew.
    page = await open_chat(conversation.pk, user)
    kept = KeptRecords()
    noisy = [logging.getLogger(name) for name in ("channels_redis.pubsub", "chat.runner")]
    for logger in noisy:
        logger.addHandler(kept)
        for repeats in logger.filters:
            if isinstance(repeats, RepeatsFilter):
                repeats.forget()
    try:
        await send_chat(page, "Tell me a long story")
        await first_delta(page)
        redis.kill()
        # The layer's receive task fails each second and every frame of the answer finds no Redis.
        await asyncio.sleep(3)
        redis.start()
        await wait_until_ended(conversation)
    finally:
        for logger in noisy:
            logger.removeHandler(kept)

    complaints = Counter((record.name, record.msg) for record in kept.records)
    assert {name for name, _ in complaints} == {logger.name for logger in noisy}
    assert set(complaints.values()) == {1}, complaints
