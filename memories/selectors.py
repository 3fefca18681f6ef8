"""Reads of the memory layer: every function takes the owner and returns only the owner's rows.

A memory id that belongs to someone else behaves exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from chat.models import Conversation, Message, Project
from memories import retrieval
from memories.models import (
    ExtractionRun,
    ImportJob,
    Memory,
    MemoryAccess,
    MemoryEvent,
    MemoryKind,
    MemorySettings,
)
from memories.scopes import EVERYWHERE, Scopes

if TYPE_CHECKING:
    from accounts.models import User

# Below this a memory is too far from the text to be worth showing or injecting.
RELEVANCE_SIMILARITY = 0.25
# How many search hits the dashboard lists at most, best first.
DASHBOARD_SEARCH_LIMIT = 100
MEMORY_ORDERINGS = {
    "newest": ("-created_at",),
    "last_used": (F("last_used_at").desc(nulls_last=True), "-created_at"),
    "most_used": ("-use_count", "-created_at"),
}


class MemoryNotFound(Http404):
    """No memory with that id belongs to this owner."""


class ProjectNotFound(Http404):
    """No project with that id belongs to this owner."""


class AnswerNotFound(Http404):
    """No assistant message with that id belongs to this owner."""


class ImportNotFound(Http404):
    """No import with that id belongs to this owner."""


@dataclass(frozen=True)
class RecalledMemory:
    memory: Memory
    score: float
    similarity: float = 0.0
    standing: float = 0.0
    lexical_standing: float = 0.0


@dataclass(frozen=True)
class MemoryFilters:
    """What the dashboard list shows. An empty `ordering` means best match when searching."""

    search: str = ""
    contains: str = ""
    kind: str = ""
    tag: str = ""
    conversation_id: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    include_superseded: bool = False
    include_expired: bool = False
    ordering: str = ""
    scopes: Scopes = EVERYWHERE


@dataclass(frozen=True)
class MemoryChange:
    """One line of the "Memory updated" notice under an answer."""

    memory: Memory
    action: str
    old_text: str
    new_text: str


# --- settings --------------------------------------------------------------------------------


def memory_settings(owner: User) -> MemorySettings:
    """The owner's memory settings, created with the defaults on first read."""
    return MemorySettings.objects.get_or_create(owner=owner)[0]


def memory_enabled(conversation: Conversation) -> bool:
    """Whether this conversation may read and write memory: not temporary, memory not paused."""
    return not conversation.is_temporary and not memory_settings(conversation.owner).paused


# --- one memory ------------------------------------------------------------------------------


def get_memory(owner: User, memory_id: UUID | str) -> Memory:
    try:
        return Memory.objects.exclude(status=Memory.Status.DELETED).get(pk=memory_id, owner=owner)
    except (Memory.DoesNotExist, ValidationError, ValueError, TypeError):
        raise MemoryNotFound("No such memory.") from None


def get_memory_or_deleted(owner: User, memory_id: UUID | str) -> Memory:
    """Like get_memory, but deleted memories (inside their undo window) count too."""
    try:
        return Memory.objects.get(pk=memory_id, owner=owner)
    except (Memory.DoesNotExist, ValidationError, ValueError, TypeError):
        raise MemoryNotFound("No such memory.") from None


def history_of(owner: User, memory_id: UUID | str) -> list[MemoryEvent]:
    memory = get_memory_or_deleted(owner, memory_id)
    return list(memory.events.select_related("related_memory", "message"))


def accesses_of(owner: User, memory_id: UUID | str) -> list[MemoryAccess]:
    """Every answer that used the memory, newest first."""
    memory = get_memory(owner, memory_id)
    return list(memory.accesses.select_related("message__conversation").order_by("-created_at"))


def get_project(owner: User, project_id: int | str) -> Project:
    """The owner's project, or a 404 whether it is missing or someone else's."""
    try:
        return Project.objects.owned_by(owner).get(pk=project_id)
    except (Project.DoesNotExist, ValueError, TypeError):
        raise ProjectNotFound("No such project.") from None


def projects_of(owner: User) -> QuerySet[Project]:
    return Project.objects.owned_by(owner)


@dataclass(frozen=True)
class ProjectMemories:
    notes: list[Memory]
    summaries: list[Memory]


def project_memories(owner: User, project: Project) -> ProjectMemories:
    """The project's live memories, newest first: its notes, and its conversations' summaries."""
    memories = list(
        memories_of(owner)
        .filter(project=project, status__in=[Memory.Status.ACTIVE, Memory.Status.PENDING])
        .select_related("source_conversation")
        .order_by("-created_at")
    )
    return ProjectMemories(
        notes=[m for m in memories if m.kind != MemoryKind.SUMMARY],
        summaries=[m for m in memories if m.kind == MemoryKind.SUMMARY],
    )


# --- many memories ---------------------------------------------------------------------------


def memories_of(owner: User) -> QuerySet[Memory]:
    return Memory.objects.owned_by(owner).exclude(status=Memory.Status.DELETED)


def search_memories(
    owner: User,
    query: str,
    *,
    scopes: Scopes,
    limit: int = 20,
    statuses: Iterable[str] = (Memory.Status.ACTIVE,),
    kinds: Iterable[str] = (),
    tag: str = "",
    include_expired: bool = False,
) -> list[RecalledMemory]:
    """Semantic and lexical search over the owner's memories in `scopes`, best first."""
    hits = retrieval.search(
        owner.pk,
        query,
        limit=limit,
        scopes=scopes,
        statuses=tuple(statuses),
        kinds=tuple(kinds),
        tag=tag,
        include_expired=include_expired,
    )
    return load_hits(owner, hits)


def load_hits(owner: User, hits: list[retrieval.SearchHit]) -> list[RecalledMemory]:
    """The owner's memories behind search hits, in the hits' order."""
    by_id = Memory.objects.owned_by(owner).in_bulk([hit.memory_id for hit in hits])
    return [
        RecalledMemory(
            by_id[hit.memory_id], hit.score, hit.similarity, hit.standing, hit.lexical_standing
        )
        for hit in hits
        if hit.memory_id in by_id
    ]


def is_relevant(hit: retrieval.SearchHit) -> bool:
    """A hit close enough in meaning, or sharing a word with the query."""
    return hit.similarity >= RELEVANCE_SIMILARITY or hit.lexical > 0


def memories_used_by(owner: User, message: Message) -> list[Memory]:
    return list(
        Memory.objects.owned_by(owner)
        .filter(accesses__message=message)
        .order_by("-accesses__score")
    )


def stale_memories(owner: User, *, now: datetime | None = None, limit: int = 3) -> list[Memory]:
    """Active memories older than their kind's age limit, oldest first: worth asking about."""
    now = now or timezone.now()
    condition = Q()
    for kind, days in settings.MEMORY_STALE_AFTER_DAYS.items():
        condition |= Q(kind=kind, confirmed_at__lt=now - timedelta(days=int(days)))
    return list(
        Memory.objects.owned_by(owner)
        .injectable()
        .filter(condition)
        .order_by("confirmed_at")[:limit]
    )


def stale_questions_for(conversation: Conversation) -> list[Memory]:
    """The stale memories worth asking about beside this conversation (none when memory is off)."""
    if not memory_enabled(conversation):
        return []
    return stale_memories(conversation.owner, limit=2)


# --- the dashboard ---------------------------------------------------------------------------


def find_memories(owner: User, filters: MemoryFilters) -> list[Memory] | QuerySet[Memory]:
    """The owner's memories as the dashboard filters them: never deleted ones, pending included."""
    statuses = [Memory.Status.ACTIVE, Memory.Status.PENDING]
    if filters.include_superseded:
        statuses.append(Memory.Status.SUPERSEDED)
    memories = memories_of(owner).filter(status__in=statuses).select_related("project")
    memories = memories.filter(in_scopes(filters.scopes))
    if not filters.include_expired:
        memories = memories.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    if filters.kind:
        memories = memories.filter(kind=filters.kind)
    if filters.contains:
        memories = memories.filter(text__icontains=filters.contains)
    if filters.conversation_id is not None:
        memories = memories.filter(source_conversation_id=filters.conversation_id)
    if filters.created_from:
        memories = memories.filter(created_at__date__gte=filters.created_from)
    if filters.created_to:
        memories = memories.filter(created_at__date__lte=filters.created_to)
    if filters.tag:
        # Tags are a JSON list, and SQLite cannot look inside one: match them here.
        tagged = [pk for pk, tags in memories.values_list("pk", "tags") if filters.tag in tags]
        memories = memories.filter(pk__in=tagged)
    if not filters.search.strip():
        return memories.order_by(*MEMORY_ORDERINGS[filters.ordering or "newest"])
    ranked_ids = _relevant_ids(
        owner, filters.search, filters.scopes, statuses, filters.include_expired
    )
    if filters.ordering:
        return memories.filter(pk__in=ranked_ids).order_by(*MEMORY_ORDERINGS[filters.ordering])
    by_id = memories.in_bulk(ranked_ids)
    return [by_id[pk] for pk in ranked_ids if pk in by_id]


def in_scopes(scopes: Scopes) -> Q:
    """The condition for memories in `scopes`, for querysets."""
    if scopes.every:
        return Q()
    project_ids = [pk for pk in scopes.project_ids if pk is not None]
    condition = Q(project_id__in=project_ids)
    if None in scopes.project_ids:
        condition |= Q(project__isnull=True)
    return condition


def _relevant_ids(
    owner: User, query: str, scopes: Scopes, statuses: list[str], include_expired: bool
) -> list:
    hits = retrieval.search(
        owner.pk,
        query,
        limit=DASHBOARD_SEARCH_LIMIT,
        scopes=scopes,
        statuses=tuple(statuses),
        include_expired=include_expired,
    )
    return [hit.memory_id for hit in hits if is_relevant(hit)]


def tags_of(owner: User) -> list[str]:
    """Every tag on the owner's memories, sorted."""
    tag_lists = memories_of(owner).values_list("tags", flat=True)
    return sorted({tag for tags in tag_lists for tag in tags})


def source_conversations_of(owner: User) -> QuerySet[Conversation]:
    """The owner's conversations that memories were learned in."""
    return Conversation.objects.filter(
        owner=owner, pk__in=memories_of(owner).values("source_conversation")
    ).order_by("-updated_at")


# --- the chat's messages, as the memory layer sees them -------------------------------------


def get_answer(owner: User, message_id: int | str) -> Message:
    """One of the owner's assistant messages, or a 404 whether it is missing or someone else's."""
    try:
        return Message.objects.select_related("conversation").get(
            pk=message_id, role=Message.Role.ASSISTANT, conversation__owner=owner
        )
    except (Message.DoesNotExist, ValueError, TypeError):
        raise AnswerNotFound("No such answer.") from None


def user_message_before(answer: Message) -> Message | None:
    """The user's message that `answer` replies to."""
    return (
        Message.objects.filter(
            conversation_id=answer.conversation_id, role=Message.Role.USER, pk__lt=answer.pk
        )
        .order_by("-pk")
        .first()
    )


def changes_after(answer: Message) -> list[MemoryChange] | None:
    """What this turn changed in memory, or None while its extraction is still running."""
    run = ExtractionRun.objects.filter(message=answer).first()
    if run is None:
        return []
    if run.status == ExtractionRun.Status.PENDING:
        return None
    source = user_message_before(answer)
    events = MemoryEvent.objects.filter(
        owner_id=answer.conversation.owner_id,
        message=source,
        action__in=[
            MemoryEvent.Action.ADDED,
            MemoryEvent.Action.SUPERSEDED,
            MemoryEvent.Action.DELETED,
        ],
    ).select_related("memory")
    return [MemoryChange(e.memory, e.action, e.old_text, e.new_text) for e in events]


def extraction_failed(answer: Message) -> bool:
    """Whether extracting memories from this answer's turn failed for good (retries included)."""
    return ExtractionRun.objects.filter(message=answer, status=ExtractionRun.Status.FAILED).exists()


# --- imports -----------------------------------------------------------------------------------


def get_import_job(owner: User, job_id: int) -> ImportJob:
    try:
        return ImportJob.objects.defer("source").get(pk=job_id, owner=owner)
    except ImportJob.DoesNotExist:
        raise ImportNotFound("No such import.") from None
