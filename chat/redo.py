"""Regenerate the last answer, or edit the last message and send it again.

What they replace is kept as an earlier version (Message.first_version), and memories learned
from an edited message are superseded, so its extraction starts over from the new text.
"""

from django.conf import settings
from django.db import transaction

from chat import services
from chat.models import Conversation, Message
from memories import services as memory_services
from memories.models import Memory

ANSWER_STILL_STREAMING = (
    "An answer is still being written: wait for it or stop it, then regenerate or edit."
)
NOTHING_TO_REDO = "There is no answered message to regenerate or edit yet."
TOO_MANY = (
    f"You can ask for at most {settings.CHAT_TURNS_PER_MINUTE} answers a minute; "
    "try again in a moment."
)


def regenerate_last_answer(conversation: Conversation) -> tuple[Message, Message, list[Message]]:
    """A new version of the last answer, to stream: (its question, the new answer, replaced)."""
    with transaction.atomic():
        question, answer = _last_turn(conversation)
        regenerated = services.new_answer(conversation, first_version=_first_of(answer))
        _replace(answer)
    return question, regenerated, [answer]


def edit_last_message(
    conversation: Conversation, text: str
) -> tuple[Message, Message, list[Message]]:
    """The last message with new text, to answer again: (the new message, its answer, replaced)."""
    text = services.clean_message(text)
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise services.TurnRejected(
            f"This message is {len(text):,} characters long; the limit is {limit:,}."
        )
    with transaction.atomic():
        question, answer = _last_turn(conversation)
        edited = Message.objects.create(
            conversation=conversation,
            role=Message.Role.USER,
            content=text,
            first_version=_first_of(question),
        )
        new_answer = services.new_answer(conversation, first_version=_first_of(answer))
        _replace(question)
        _replace(answer)
        for memory in Memory.objects.filter(source_message=question).exclude(
            status__in=[Memory.Status.SUPERSEDED, Memory.Status.DELETED]
        ):
            memory_services.supersede(conversation.owner, memory.pk, by=None)
    return edited, new_answer, [question, answer]


def _last_turn(conversation: Conversation) -> tuple[Message, Message]:
    """The conversation's last question and its answer, locked for this change."""
    if not services.turn_allowed(conversation):
        raise services.TurnRejected(TOO_MANY)
    if conversation.messages.filter(status=Message.Status.STREAMING).exists():
        raise services.TurnRejected(ANSWER_STILL_STREAMING)
    last_two = list(conversation.messages.filter(is_replaced=False).order_by("-pk")[:2])
    roles = [message.role for message in last_two]
    if roles != [Message.Role.ASSISTANT, Message.Role.USER]:
        raise services.TurnRejected(NOTHING_TO_REDO)
    answer, question = last_two
    return question, answer


def _first_of(message: Message) -> Message:
    return message.first_version or message


def _replace(message: Message) -> None:
    message.is_replaced = True
    message.save(update_fields=["is_replaced"])
