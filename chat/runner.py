"""Answers run here, as tasks of the server process rather than of a socket.

Every page of a conversation follows its answers through the conversation's channel-layer group,
whichever process it is connected to: closing a tab leaves the answer running, a page that
(re)connects asks for the text so far, and Stop reaches the process that streams the answer.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError
from django.template.loader import render_to_string
from django.utils.html import escape
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from chat import selectors, services, turns
from chat.models import Conversation, Message
from chat.streaming import batched
from chat.turn_threads import in_lease_thread, in_turn_thread
from memories import tasks as memory_tasks

logger = logging.getLogger(__name__)

# The handler name (in the consumer) of a frame every page of the conversation shows.
PAGE_FRAME = "chat.frame"
# What the Redis channel layer raises while Redis cannot be reached (restarting, say). The model
# and the database are still there, so an answer goes on: its pages lose their sockets too, and
# once they reconnect they ask for the text so far.
CHANNEL_LAYER_DOWN = (OSError, RedisConnectionError, RedisTimeoutError)
# How often a running answer tries to rejoin its group while the channel layer is down.
REJOIN_SECONDS = 0.5
# Up to this many answers streaming at once in a process, each sends its words every
# CHAT_STREAM_FLUSH_SECONDS; with more, every answer waits longer between frames, so the process
# sends about as many frames a second however many answers it streams, up to
# LONGEST_FLUSH_SECONDS between two frames of an answer (still a steady stream to the reader).
# A frame costs the process about the same whether it carries one word or ten.
SMOOTH_ANSWERS = 8
LONGEST_FLUSH_SECONDS = 0.25


def conversation_group(conversation_id: int) -> str:
    """The group of the conversation's open pages."""
    return f"conversation-{conversation_id}"


def answers_group(conversation_id: int) -> str:
    """The group of the conversation's running answers, in whichever process runs them."""
    return f"conversation-{conversation_id}-answers"


@dataclass(eq=False)
class RunningAnswer:
    conversation: Conversation
    user_message: Message
    answer: Message
    parts: list[str] = field(default_factory=list)
    stop_requested: bool = False
    # Set when a frame could not be published (the channel layer was down): the pages missed
    # words, so the next frame is the whole text so far.
    pages_behind: bool = False
    # Taken while text is added and published, and while a snapshot of it is sent, so a page
    # that asks for the text so far gets every piece exactly once.
    publishing: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task = field(init=False)


_sweeper: asyncio.Task | None = None
# One answer at a time per conversation in a process, in the order the messages were sent.
_turn_locks: dict[int, asyncio.Lock] = {}
# Strong references: the event loop keeps only weak ones to its tasks.
_running: set[RunningAnswer] = set()


async def publish(conversation_id: int, html: str) -> None:
    """Show `html` (htmx out-of-band swaps) on every open page of the conversation."""
    await get_channel_layer().group_send(
        conversation_group(conversation_id), {"type": PAGE_FRAME, "html": html}
    )


async def start_answer(
    conversation: Conversation,
    user_message: Message,
    answer: Message,
    *,
    replaced: Sequence[Message] = (),
) -> None:
    """Show the new turn on the conversation's pages and answer it in a task of this process.

    `replaced`: the messages a regenerated or edited turn takes the place of on the pages.
    """
    newest_replaced = max((message.pk for message in replaced), default=0)
    await publish(
        conversation.pk,
        await in_turn_thread(render_to_string)(
            "chat/partials/turn_started.html",
            {
                "new_messages": [m for m in (user_message, answer) if m.pk > newest_replaced],
                "replaced": replaced,
                "conversation": conversation,
            },
        ),
    )
    running = RunningAnswer(conversation, user_message, answer)
    _running.add(running)
    running.task = asyncio.create_task(_run(running))
    running.task.add_done_callback(lambda _: _running.discard(running))


async def request_stop(conversation_id: int) -> None:
    """Stop the conversation's answers, the streaming one and those waiting behind it: recorded
    in the database first, then told to their processes through the channel layer."""
    await in_turn_thread(services.mark_answers_stopped)(conversation_id)
    with contextlib.suppress(*CHANNEL_LAYER_DOWN):
        await get_channel_layer().group_send(
            answers_group(conversation_id), {"type": "answer.stop"}
        )


async def request_text_so_far(conversation_id: int, reply_channel: str) -> None:
    """Have each running answer of the conversation send its text so far to `reply_channel`."""
    await get_channel_layer().group_send(
        answers_group(conversation_id), {"type": "answer.sync", "reply_channel": reply_channel}
    )


async def how_answers_ended(conversation: Conversation, answer_ids: list[int]) -> list[str]:
    """The final renders of those of `answer_ids` (the conversation's answers a page still shows
    as streaming) that ended while that page's socket was down, and so missed its frames."""
    ended = await in_turn_thread(selectors.ended_answers)(conversation, answer_ids)
    return [await _render_answer(message) for message in ended]


async def interrupt_abandoned(conversation_id: int | None = None) -> None:
    """Mark interrupted, on their pages too, the answers whose process died mid-stream."""
    for message in await in_turn_thread(services.interrupt_abandoned_answers)(conversation_id):
        await publish(message.conversation_id, await _render_answer(message))


def sweep_in_background() -> None:
    """Start, once per process, the periodic sweep for answers whose process died, and for
    memory extractions and imports whose worker died (queued again at once, not when the next
    job starts or someone looks)."""
    global _sweeper
    if _sweeper is None or _sweeper.done():
        _sweeper = asyncio.create_task(_sweep_forever())


async def _sweep_forever() -> None:
    while True:
        await asyncio.sleep(settings.CHAT_ANSWER_LEASE_SECONDS / 2)
        try:
            await interrupt_abandoned()
            await in_turn_thread(memory_tasks.requeue_abandoned_extractions)()
            await in_turn_thread(memory_tasks.requeue_stalled_imports)()
        except Exception:
            logger.exception("The sweep for abandoned answers, extractions and imports failed")


async def _renew_lease(running: RunningAnswer) -> None:
    renew = in_lease_thread(services.renew_lease)
    # The answer was saved with a fresh lease: the first renewal can wait.
    while True:
        await asyncio.sleep(settings.CHAT_ANSWER_LEASE_SECONDS / 3)
        try:
            renewed = await renew(running.answer)
        except DatabaseError:
            # PostgreSQL restarting, say: the answer streams on, and the next renewal, a third
            # of a lease later, still comes before another process may call it abandoned.
            logger.warning("The lease of answer %s could not be renewed", running.answer.pk)
            continue
        if not renewed:
            _stop(running)
            return


def _stop(running: RunningAnswer) -> None:
    if not running.stop_requested:
        running.stop_requested = True
        running.task.cancel()


async def _run(running: RunningAnswer) -> None:
    layer = get_channel_layer()
    group = answers_group(running.conversation.pk)
    channel = await layer.new_channel()
    # Joined before the answer starts, so no Stop or page that asks for the text is missed.
    joined = await _join(group, channel)
    listener = asyncio.create_task(_listen(group, channel, running, joined=joined))
    heartbeat = asyncio.create_task(_renew_lease(running))
    try:
        lock = _turn_locks.setdefault(running.conversation.pk, asyncio.Lock())
        async with lock:
            await _stream(running)
    except asyncio.CancelledError:
        if not running.stop_requested:
            # The process is stopping: the answer cannot go on anywhere. Shielded, because this
            # task is the one being cancelled.
            await asyncio.shield(
                in_turn_thread(services.end_unfinished_answer)(
                    running.answer, services.ANSWER_INTERRUPTED
                )
            )
            raise
        asyncio.current_task().uncancel()
        message = await in_turn_thread(services.stop_answer)(running.answer)
        await _show_end(running.conversation.pk, await _render_answer(message))
    except Exception:
        # Whatever broke, the pages must stop showing the answer as typing.
        logger.exception("The answer %s failed", running.answer.pk)
        message = await in_turn_thread(services.end_unfinished_answer)(
            running.answer, services.ANSWER_FAILED
        )
        await _show_end(running.conversation.pk, await _render_answer(message))
    finally:
        heartbeat.cancel()
        await _stop_listening(listener, channel)
        with contextlib.suppress(*CHANNEL_LAYER_DOWN):
            await layer.group_discard(group, channel)


async def _stream(running: RunningAnswer) -> None:
    answer = running.answer
    updates = turns.stream_answer(running.conversation, running.user_message, answer)
    async for batch in batched(updates, flush_interval):
        text = "".join(u.text for u in batch if isinstance(u, turns.AnswerDelta))
        if text:
            async with running.publishing:
                running.parts.append(text)
                if running.pages_behind:
                    answer.content = "".join(running.parts)
                    html = await _render_answer(answer)
                else:
                    html = _words_frame(answer, text)
                running.pages_behind = not await _show(running.conversation.pk, html)
        for update in batch:
            if isinstance(update, turns.AnswerFinished):
                await _show_end(running.conversation.pk, await _render_answer(update.message))


def _words_frame(answer: Message, text: str) -> str:
    return f'<span hx-swap-oob="beforeend:#{answer.dom_id}-text">{escape(text)}</span>'


def flush_interval() -> float:
    """How long an answer's new words wait to be sent together, given how many answers this
    process is streaming now."""
    quiet = settings.CHAT_STREAM_FLUSH_SECONDS
    crowded = quiet * len(_running) / SMOOTH_ANSWERS
    return max(quiet, min(crowded, LONGEST_FLUSH_SECONDS))


async def _show(conversation_id: int, html: str) -> bool:
    """Publish `html` if the channel layer can take it (whether it did): an answer never fails
    for want of pages."""
    try:
        await publish(conversation_id, html)
    except CHANNEL_LAYER_DOWN as error:
        logger.warning(
            "A frame of conversation %s reached no page: %s", conversation_id, type(error).__name__
        )
        return False
    return True


async def _show_end(conversation_id: int, html: str) -> None:
    """Publish how an answer ended, waiting up to a lease for a channel layer that is down: a
    page's socket outlives a Redis restart (the pub/sub layer subscribes again), and one that
    missed the end would show the answer typing until it is reloaded."""
    deadline = asyncio.get_running_loop().time() + settings.CHAT_ANSWER_LEASE_SECONDS
    while not await _show(conversation_id, html):
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(REJOIN_SECONDS)


async def _stop_listening(listener: asyncio.Task, channel: str) -> None:
    """End the answer's listener by a message on its channel, so it leaves the channel layer's
    receive on its own: cancelled inside it after a Redis restart, listeners were seen to stay
    (cancelling, never done) with the process's receive lock, and no page heard a thing again."""
    try:
        await get_channel_layer().send(channel, {"type": "answer.ended"})
    except CHANNEL_LAYER_DOWN:
        listener.cancel()


async def _join(group: str, channel: str) -> bool:
    """Add the answer's channel to its group; False while the channel layer is down."""
    try:
        await get_channel_layer().group_add(group, channel)
    except CHANNEL_LAYER_DOWN:
        return False
    return True


async def _listen(group: str, channel: str, running: RunningAnswer, *, joined: bool) -> None:
    """Serve the requests that reach this answer through the conversation's answers group."""
    layer = get_channel_layer()
    while True:
        try:
            if not joined:
                await layer.group_add(group, channel)
                joined = True
            request = await layer.receive(channel)
            if request["type"] == "answer.ended":
                return
            if request["type"] == "answer.stop":
                _stop(running)
            elif request["type"] == "answer.sync":
                async with running.publishing:
                    running.answer.content = "".join(running.parts)
                    await layer.send(
                        request["reply_channel"],
                        {"type": PAGE_FRAME, "html": await _render_answer(running.answer)},
                    )
        except CHANNEL_LAYER_DOWN:
            # A restarted Redis has forgotten every group: join again once it answers.
            joined = False
            await asyncio.sleep(REJOIN_SECONDS)


async def _render_answer(message: Message) -> str:
    return await in_turn_thread(render_to_string)(
        "chat/partials/message.html", {"message": message, "swap_oob": True}
    )
