"""The pace of an answer's frames: CHAT_STREAM_FLUSH_SECONDS while a process streams few answers,
slower as it streams more at once (chat.runner.flush_interval), so a busy process sends fewer,
fuller frames."""

import asyncio
import time

import pytest

from chat import runner
from tests.upstream import Text
from tests.websocket import delta_text, frames_until_final, send_chat

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_few_answers_stream_at_the_quiet_interval(settings, monkeypatch):
    settings.CHAT_STREAM_FLUSH_SECONDS = 0.05
    monkeypatch.setattr(runner, "_running", set(range(runner.SMOOTH_ANSWERS)))

    assert runner.flush_interval() == 0.05


def test_the_interval_grows_with_the_answers_streaming_at_once_up_to_a_limit(settings, monkeypatch):
    settings.CHAT_STREAM_FLUSH_SECONDS = 0.05
    monkeypatch.setattr(runner, "_running", set(range(3 * runner.SMOOTH_ANSWERS)))
    assert runner.flush_interval() == pytest.approx(0.15)

    monkeypatch.setattr(runner, "_running", set(range(1000 * runner.SMOOTH_ANSWERS)))
    assert runner.flush_interval() == runner.LONGEST_FLUSH_SECONDS


def test_a_slower_quiet_interval_than_the_limit_is_kept(settings, monkeypatch):
    settings.CHAT_STREAM_FLUSH_SECONDS = 2 * runner.LONGEST_FLUSH_SECONDS
    monkeypatch.setattr(runner, "_running", set(range(1000 * runner.SMOOTH_ANSWERS)))

    assert runner.flush_interval() == 2 * runner.LONGEST_FLUSH_SECONDS


async def test_answers_streaming_at_once_send_fewer_frames_each(
    open_chat, upstream, make_conversation, user, settings, monkeypatch
):
    settings.CHAT_STREAM_FLUSH_SECONDS = 0.02
    # Four answers at once are four times the smooth number: each waits 0.08 s between frames.
    monkeypatch.setattr(runner, "SMOOTH_ANSWERS", 1)
    chunks = [f" word{n}" for n in range(100)]
    upstream.script(*[Text("".join(chunks), chunks=chunks, delay=0.005) for _ in range(4)])
    conversations = [await asyncio.to_thread(make_conversation, user) for _ in range(4)]
    pages = [await open_chat(conversation.pk, user) for conversation in conversations]

    async def arrivals(page) -> list[tuple[float, str]]:
        seen = []
        async for frame in frames_until_final(page):
            if (text := delta_text(frame)) is not None:
                seen.append((time.monotonic(), text))
        return seen

    for page in pages:
        await send_chat(page, "Count for me")
    streamed = await asyncio.gather(*(arrivals(page) for page in pages))

    for seen in streamed:
        assert "".join(text for _, text in seen) == "".join(chunks)
        elapsed = seen[-1][0] - seen[0][0]
        # At most one frame per crowded interval, give or take the first and one of slack
        # (the first and last answers run alone for a moment).
        assert len(seen) <= elapsed / 0.08 + 3
