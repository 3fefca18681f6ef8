"""Short summaries of a project's conversations, kept as project memories of kind "summary".

A summary is extractive and deterministic: the chat's title and the opening sentence of each of
the user's messages, cut to a few hundred characters. It is written after a chat's first turn and
every MEMORY_SUMMARY_EVERY_TURNS turns after that, replacing the chat's previous summary (one
slot per conversation), so a new chat in the project knows what the earlier ones were about.
"""

from __future__ import annotations

import re

from django.conf import settings

from chat.models import Conversation, Message
from memories import services
from memories.models import Memory, MemoryKind
from memories.scopes import scope_of

SUMMARY_CHARS = 300
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def refresh_if_due(conversation: Conversation) -> Memory | None:
    """Write the conversation's summary when a project chat reached a summary turn."""
    if conversation.project_id is None:
        return None
    said = list(
        conversation.messages.filter(role=Message.Role.USER)
        .exclude(content="")
        .order_by("created_at", "id")
        .values_list("content", flat=True)
    )
    turns = len(said)
    if turns != 1 and turns % settings.MEMORY_SUMMARY_EVERY_TURNS:
        return None
    return services.add_memory(
        conversation.owner,
        summary_of(conversation.title, said),
        kind=MemoryKind.SUMMARY,
        project_id=scope_of(conversation).home_for(MemoryKind.SUMMARY),
        slot=f"summary:conversation:{conversation.pk}",
        source_conversation=conversation,
        metadata={"summary_of_turns": turns},
    ).memory


def summary_of(title: str, said: list[str]) -> str:
    openings = [_first_sentence(text) for text in said]
    text = f"Chat “{title}”: " + " / ".join(opening for opening in openings if opening)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"


def _first_sentence(text: str) -> str:
    return " ".join(_SENTENCE_END.split(text.strip(), maxsplit=1)[0].split())[:120]
