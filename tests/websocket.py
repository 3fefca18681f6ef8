"""Helpers for driving chat turns in tests: over the websocket, or through the turn code."""

import asyncio
import html
import io
import json
import re
import sys
import threading
import traceback
import warnings
from collections.abc import AsyncIterator, Iterable

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat import services, turn_threads, turns
from chat.models import Conversation, Message

DELTA_FRAME = re.compile(
    r'<span hx-swap-oob="beforeend:#message-(?P<id>\d+)-text">(?P<text>.*)</span>', re.DOTALL
)

MEMORY_NOTICE_FRAME = re.compile(r'<p id="answer-\d+-changes" hx-swap-oob="outerHTML"')


# How long a teardown waits for cancelled tasks or closing clients before it reports them.
TEARDOWN_SECONDS = 30


async def end_server_tasks() -> None:
    """End what a test left running on its event loop (answers outlive their sockets), and the
    turn threads' work for it, before the loop closes."""
    leftover = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in leftover:
        task.cancel()
    if leftover:
        # Bounded: a task that never ends once cancelled hung CI's PostgreSQL pass for its whole
        # time limit with nothing in the log. Now the run goes on and says where it was stuck.
        _, stuck = await asyncio.wait(leftover, timeout=TEARDOWN_SECONDS)
        if stuck:
            report_hang(f"{len(stuck)} cancelled task(s) still running", stuck)
    # A cancelled answer's work can still be running on a turn thread (its extraction, with the
    # immediate task backend, which then publishes through this loop): a thread left waiting for
    # a closed loop kept the PostgreSQL test run from exiting once.
    await turn_threads.until_idle()


def report_hang(what: str, tasks: Iterable[asyncio.Task] = ()) -> None:
    """Warn where a teardown is stuck, with the stacks of the stuck tasks and of every thread:
    pytest shows a warning's whole text in its summary, which captured output it drops."""
    stacks = io.StringIO()
    for task in tasks:
        task.print_stack(file=stacks)
    for thread in threading.enumerate():
        frame = sys._current_frames().get(thread.ident)
        if frame is not None:
            stacks.write(f"Thread {thread.name}:\n{''.join(traceback.format_stack(frame))}")
    warnings.warn(f"teardown: {what}\n{stacks.getvalue()}", stacklevel=2)


def delta_text(frame: str) -> str | None:
    """The text a delta frame appends (as the browser shows it), or None for other frames."""
    match = DELTA_FRAME.fullmatch(frame)
    return html.unescape(match["text"]) if match else None


async def send_chat(communicator: WebsocketCommunicator, text: str) -> None:
    await communicator.send_to(text_data=json.dumps({"message": text}))


async def next_frame(communicator: WebsocketCommunicator, seconds: float = 30) -> str:
    """The next frame, "Memory updated" pushes left out (they arrive whenever extraction ends)."""
    while MEMORY_NOTICE_FRAME.search(frame := await communicator.receive_from(timeout=seconds)):
        pass
    return frame


async def frames_until_final(
    communicator: WebsocketCommunicator, seconds: float = 60
) -> AsyncIterator[str]:
    """Yield every frame up to and including the final render of the answer.

    "Memory updated" pushes (chat.memory_notices) arrive whenever extraction ends: left out.
    """
    while True:
        frame = await communicator.receive_from(timeout=seconds)
        if MEMORY_NOTICE_FRAME.search(frame):
            continue
        yield frame
        if 'hx-swap-oob="outerHTML"' in frame:
            return


async def run_turn(conversation: Conversation, text: str) -> Message:
    """Send `text` in the conversation and let the answer stream to its end; returns the answer."""
    user_message, answer = await sync_to_async(services.start_turn)(conversation, text)
    async for _ in turns.stream_answer(conversation, user_message, answer):
        pass
    await answer.arefresh_from_db()
    return answer
