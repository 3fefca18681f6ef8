"""Changes a voice session makes: spoken turns, answers cut short by the user, the session lock."""

import uuid

from django.conf import settings
from django.core.cache import cache

from chat import services
from chat.models import Conversation, Message
from memories import tasks

INTERRUPTED = "Interrupted: you started speaking. Kept up to the point you heard."
# What a spoken message says until its words are transcribed, and for good if they never are.
NOT_TRANSCRIBED = "(not transcribed)"
# A session that died without releasing its lock frees it this long after its own time is up.
LOCK_GRACE_SECONDS = 60


class VoiceSessionBusy(Exception):
    """The user already has a voice session open (another tab or device)."""


def start_spoken_turn(
    conversation: Conversation, transcript: str | None
) -> tuple[Message, Message]:
    """Start a turn exactly as typed chat does, then mark both of its messages as spoken.

    `transcript` None: the answer began before the user's words were transcribed. The message is
    saved now, saying so, so that it stays in the conversation if the words never come.
    """
    user_message, answer = services.start_turn(conversation, transcript or NOT_TRANSCRIBED)
    Message.objects.filter(pk__in=[user_message.pk, answer.pk]).update(via=Message.Via.VOICE)
    user_message.via = answer.via = Message.Via.VOICE
    return user_message, answer


def fill_transcript(user_message: Message, transcript: str) -> Message:
    """Put the user's words, transcribed after the answer began, into their saved message."""
    text = _as_stored(transcript)
    if not text:
        return user_message
    user_message.content = text
    user_message.save(update_fields=["content"])
    conversation = user_message.conversation
    # The first message names the conversation, so the marker may have named it.
    if conversation.title == NOT_TRANSCRIBED:
        conversation.title = services.title_from(text)
        conversation.save(update_fields=["title"])
    return user_message


def save_spoken_words(conversation: Conversation, transcript: str) -> Message:
    """Keep words the upstream transcribed but never answered (the user went on speaking)."""
    return Message.objects.create(
        conversation=conversation,
        role=Message.Role.USER,
        content=_as_stored(transcript),
        via=Message.Via.VOICE,
    )


def _as_stored(transcript: str) -> str:
    # Cut, not refused as a long typed message is: these words were said, and they are kept.
    return services.storable_text(transcript).strip()[: settings.CHAT_MAX_MESSAGE_CHARS]


def keep_heard_part(answer: Message, heard: str, *, extraction_scheduled: bool) -> Message:
    """Cut an answer to what was said aloud before the user spoke over it.

    An exchange cut short still told us what the user said, so its memories are extracted.
    """
    answer.refresh_from_db()
    answer.content = heard
    answer.status = Message.Status.INCOMPLETE
    answer.error = INTERRUPTED
    answer.save(update_fields=["content", "status", "error"])
    if not extraction_scheduled:
        tasks.schedule_extraction(answer)
    return answer


def _lock_key(owner_id: int) -> str:
    return f"voice-session:{owner_id}"


def claim_session(owner_id: int) -> str:
    """A token for the owner's only voice session; VoiceSessionBusy while another is open."""
    token = uuid.uuid4().hex
    timeout = settings.VOICE_MAX_SESSION_SECONDS + LOCK_GRACE_SECONDS
    if not cache.add(_lock_key(owner_id), token, timeout=timeout):
        raise VoiceSessionBusy("A voice session is already open for your account. Close it first.")
    return token


def release_session(owner_id: int, token: str) -> None:
    # Only our own claim: a lock that expired and was claimed again belongs to a newer session.
    if cache.get(_lock_key(owner_id)) == token:
        cache.delete(_lock_key(owner_id))
