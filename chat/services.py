"""Conversations and turns: every read and change is scoped to the conversation's owner."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NoReturn

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from chat.models import Conversation, Message
from config import upstream

if TYPE_CHECKING:
    from accounts.models import User

TITLE_LENGTH = 60
ANSWER_INTERRUPTED = "The answer was interrupted."
ANSWER_FAILED = "Something went wrong while answering. Please send your message again."
# Half of a UTF-16 pair (what JSON.stringify sends for a broken emoji) cannot be stored as UTF-8.
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class TurnRejected(Exception):
    """The message cannot start a turn; the text says why, for the person who sent it.

    `saved` is the user's message as kept with the error, when it was kept.
    """

    def __init__(self, reason: str, saved: Message | None = None) -> None:
        super().__init__(reason)
        self.saved = saved


class InvalidTitle(Exception):
    """The conversation cannot take that title; the text says why."""


def storable_text(text: str) -> str:
    """`text` as both databases can store it: NUL bytes, which PostgreSQL refuses and no one
    can see, are dropped; lone surrogates become the replacement character."""
    return LONE_SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def conversations_of(owner: User) -> list[Conversation]:
    return list(Conversation.objects.filter(owner=owner))


def get_conversation(owner: User, conversation_id: int) -> Conversation:
    """The owner's conversation, or Http404 whether it is missing or someone else's."""
    try:
        return Conversation.objects.get(pk=conversation_id, owner=owner)
    except (Conversation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such conversation.") from None


def find_conversation(owner: User, conversation_id: int) -> Conversation | None:
    try:
        return get_conversation(owner, conversation_id)
    except Http404:
        return None


def create_conversation(owner: User, *, is_temporary: bool = False) -> Conversation:
    title = "Temporary chat" if is_temporary else "New chat"
    return Conversation.objects.create(owner=owner, title=title, is_temporary=is_temporary)


def rename_conversation(conversation: Conversation, title: str) -> Conversation:
    title = " ".join(storable_text(title).split())[:200]
    if not title:
        raise InvalidTitle("A title cannot be empty.")
    conversation.title = title
    conversation.save(update_fields=["title", "updated_at"])
    return conversation


def delete_conversation(conversation: Conversation) -> None:
    conversation.delete()


def start_turn(conversation: Conversation, text: str) -> tuple[Message, Message]:
    """Save the user's message, then the placeholder of the answer that will stream into it.

    The user's message is saved even when it is rejected, so nothing typed is ever lost.
    """
    text = clean_message(text)
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if len(text) > limit:
        # Only what the error names is kept: storing any length a socket accepts would let one
        # message fill the database and every page that shows it.
        _reject(
            conversation,
            text[:limit],
            f"This message is {len(text):,} characters long; the limit is {limit:,}. "
            f"Only its first {limit:,} characters were saved, and it was not sent to the model.",
        )
    with transaction.atomic():
        if turn_allowed(conversation):
            return _save_turn(conversation, text)
    _reject(
        conversation,
        text,
        f"You can send at most {settings.CHAT_TURNS_PER_MINUTE} messages a minute. "
        "This one was saved but not sent to the model; send it again in a moment.",
    )


def clean_message(text: str) -> str:
    """The user's text as it is stored; TurnRejected when nothing is left to send."""
    text = storable_text(text).strip()
    if not text:
        raise TurnRejected("Type a message first.")
    return text


def turn_allowed(conversation: Conversation) -> bool:
    """Whether the owner may start one more answer now. Call it inside a transaction.

    One turn at a time per user (a row lock on PostgreSQL, SQLite's write lock), so messages sent
    on several sockets at once cannot all slip under the limit.
    """
    list(get_user_model().objects.select_for_update().filter(pk=conversation.owner_id))
    return _answers_in_last_minute(conversation.owner_id) < settings.CHAT_TURNS_PER_MINUTE


def new_answer(conversation: Conversation, **fields: object) -> Message:
    """The placeholder of an answer about to stream."""
    return Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=Message.Status.STREAMING,
        model_name=upstream.model_name(),
        lease_expires_at=lease_from_now(),
        **fields,
    )


def lease_from_now() -> datetime:
    return timezone.now() + timedelta(seconds=settings.CHAT_ANSWER_LEASE_SECONDS)


def renew_lease(answer: Message) -> bool:
    """Tell other processes that the one streaming `answer` is still alive.

    Returns False once a reader stopped the answer (see `mark_answers_stopped`): the process
    streaming it must end it.
    """
    renewed = Message.objects.filter(pk=answer.pk, status=Message.Status.STREAMING).update(
        lease_expires_at=lease_from_now()
    )
    return (
        bool(renewed)
        or not Message.objects.filter(pk=answer.pk, status=Message.Status.STOPPED).exists()
    )


def mark_answers_stopped(conversation_id: int) -> int:
    """Record that a reader stopped the conversation's streaming and waiting answers; returns
    how many.

    Stop also reaches the answers through the channel layer at once. This record is what the
    processes streaming them see on their next lease renewal when that message is lost (a
    Redis restart, a receive cancelled under channels_redis): a Stop is never ignored. The
    process keeps the text that arrived when it ends the answer.
    """
    return Message.objects.filter(
        conversation_id=conversation_id,
        role=Message.Role.ASSISTANT,
        status=Message.Status.STREAMING,
    ).update(status=Message.Status.STOPPED, error="")


def interrupt_abandoned_answers(conversation_id: int | None = None) -> list[Message]:
    """Mark interrupted the streaming answers whose process died (their lease lapsed), in one
    conversation or all; returns them as saved."""
    abandoned = Message.objects.filter(
        status=Message.Status.STREAMING, lease_expires_at__lt=timezone.now()
    )
    if conversation_id is not None:
        abandoned = abandoned.filter(conversation_id=conversation_id)
    ids = list(abandoned.values_list("pk", flat=True))
    Message.objects.filter(pk__in=ids, status=Message.Status.STREAMING).update(
        status=Message.Status.INCOMPLETE, error=ANSWER_INTERRUPTED
    )
    return list(Message.objects.filter(pk__in=ids, status=Message.Status.INCOMPLETE))


def _save_turn(conversation: Conversation, text: str) -> tuple[Message, Message]:
    user_message = Message.objects.create(
        conversation=conversation, role=Message.Role.USER, content=text
    )
    assistant_message = new_answer(conversation)
    if (
        conversation.title in ("New chat", "Temporary chat")
        and not conversation.messages.filter(role=Message.Role.USER)
        .exclude(pk=user_message.pk)
        .exists()
    ):
        conversation.title = title_from(text)
    conversation.updated_at = timezone.now()
    conversation.save(update_fields=["title", "updated_at"])
    return user_message, assistant_message


def title_from(text: str) -> str:
    """The title a conversation takes from its first message."""
    return " ".join(text.split())[:TITLE_LENGTH]


def _reject(conversation: Conversation, text: str, error: str) -> NoReturn:
    # Outside the turn's transaction, so raising TurnRejected does not roll the message back.
    saved = Message.objects.create(
        conversation=conversation,
        role=Message.Role.USER,
        content=text,
        status=Message.Status.ERROR,
        error=error,
    )
    raise TurnRejected(error, saved)


def _answers_in_last_minute(owner_id: int) -> int:
    """Answers the owner asked for in the last 60 seconds (new turns, regenerated and edited ones),
    in any of their conversations."""
    return Message.objects.filter(
        conversation__owner_id=owner_id,
        role=Message.Role.ASSISTANT,
        created_at__gte=timezone.now() - timedelta(minutes=1),
    ).count()


def finish_answer(
    message: Message,
    *,
    content: str,
    status: str,
    error: str = "",
    response_id: str = "",
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    time_to_first_token_ms: float | None = None,
) -> Message:
    message.content = storable_text(content)
    message.status = status
    message.error = error
    message.upstream_response_id = response_id
    message.input_tokens = input_tokens
    message.output_tokens = output_tokens
    message.time_to_first_token_ms = time_to_first_token_ms
    message.save()
    return message


def keep_cut_short_answer(
    message: Message,
    *,
    content: str,
    time_to_first_token_ms: float | None,
    error: str = ANSWER_INTERRUPTED,
) -> Message:
    """Save what arrived of an answer whose stream was cut short: as stopped when a reader had
    stopped it (the record `mark_answers_stopped` left), otherwise as incomplete with `error`
    (interrupted, or failed when the turn's own code broke)."""
    with transaction.atomic():
        stopped = (
            Message.objects.select_for_update()
            .filter(pk=message.pk, status=Message.Status.STOPPED)
            .exists()
        )
        return finish_answer(
            message,
            content=content,
            status=Message.Status.STOPPED if stopped else Message.Status.INCOMPLETE,
            error="" if stopped else error,
            time_to_first_token_ms=time_to_first_token_ms,
        )


def end_unfinished_answer(answer: Message, error: str) -> Message:
    """End `answer` as incomplete with `error`, unless its stream already ended it.

    Returns the answer as saved.
    """
    Message.objects.filter(pk=answer.pk, status=Message.Status.STREAMING).update(
        status=Message.Status.INCOMPLETE, error=error
    )
    answer.refresh_from_db()
    return answer


def stop_answer(answer: Message) -> Message:
    """Mark `answer` stopped by its reader, keeping the text that arrived, unless it had ended.

    Its stream saves what arrived as interrupted when it is cut short; Stop says why instead.
    """
    Message.objects.filter(pk=answer.pk).filter(
        Q(status=Message.Status.STREAMING)
        | Q(status=Message.Status.INCOMPLETE, error=ANSWER_INTERRUPTED)
    ).update(status=Message.Status.STOPPED, error="")
    answer.refresh_from_db()
    return answer
