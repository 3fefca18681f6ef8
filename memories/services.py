"""Changes to memories: each function takes the owner, keeps the history and bumps the revision.

The revision tells every process's search index that the owner's memories changed; a change that
skips it leaves other processes searching stale text. Reads are in memories.selectors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from chat.models import Conversation, Message, Project
from memories import embeddings, retrieval
from memories.models import Memory, MemoryEvent, MemoryKind, MemorySettings
from memories.scopes import PERSON, Scopes, scope_of
from memories.selectors import (
    MemoryNotFound,
    get_memory,
    get_memory_or_deleted,
    memory_enabled,
    memory_settings,
)

if TYPE_CHECKING:
    from accounts.models import User

# Cosine similarity above which two memories say the same thing in other words.
DUPLICATE_SIMILARITY = 0.92
# How close a memory must be to "forget X" to be deleted by it.
FORGET_SIMILARITY = 0.55
MAX_MEMORY_CHARS = 2000


class InvalidMemory(Exception):
    """The memory cannot be stored as given; the text says why, for the person who gave it."""


class ChangeRefused(Exception):
    """The change does not apply to the memory as it is now (most often: a second click)."""


class NotSuperseded(ChangeRefused):
    """Only a superseded memory can be restored."""


class NotDeleted(ChangeRefused):
    """Only a deleted memory can be brought back."""


class NotPending(ChangeRefused):
    """Only a memory waiting for approval can be approved or discarded."""


@dataclass
class AddResult:
    memory: Memory
    created: bool
    superseded: list[Memory] = field(default_factory=list)


# --- settings and revisions -------------------------------------------------------------


def set_paused(owner: User, paused: bool) -> MemorySettings:
    prefs = memory_settings(owner)
    prefs.paused = paused
    prefs.save(update_fields=["paused"])
    return prefs


def set_require_approval(owner: User, required: bool) -> MemorySettings:
    prefs = memory_settings(owner)
    prefs.require_approval = required
    prefs.save(update_fields=["require_approval"])
    return prefs


def _next_revision(owner_id: int) -> int:
    """Claim the owner's next revision; call inside the transaction that changes memories."""
    MemorySettings.objects.get_or_create(owner_id=owner_id)
    prefs = MemorySettings.objects.select_for_update().get(owner_id=owner_id)
    prefs.revision += 1
    prefs.save(update_fields=["revision"])
    return prefs.revision


def _bump_epoch(owner_id: int) -> None:
    MemorySettings.objects.get_or_create(owner_id=owner_id)
    MemorySettings.objects.filter(owner_id=owner_id).update(
        epoch=F("epoch") + 1, revision=F("revision") + 1
    )


def _save(memory: Memory, *fields: str) -> None:
    memory.revision = _next_revision(memory.owner_id)
    memory.updated_at = timezone.now()
    if fields:
        memory.save(update_fields=[*fields, "revision", "updated_at"])
    else:
        memory.save()


def _log(
    memory: Memory, action: str, *, old_text: str = "", new_text: str = "", **extra: Any
) -> None:
    MemoryEvent.objects.create(
        memory=memory,
        owner_id=memory.owner_id,
        action=action,
        old_text=old_text,
        new_text=new_text,
        **extra,
    )


# --- adding ------------------------------------------------------------------------------------


def content_hash(text: str) -> str:
    normalized = " ".join(text.lower().split()).rstrip(".!")
    return hashlib.sha256(normalized.encode()).hexdigest()


def clean_text(text: str) -> str:
    """The text as a memory stores it, or InvalidMemory saying why it cannot be one."""
    text = text.strip()
    if not text:
        raise InvalidMemory("A memory needs some text.")
    if len(text) > MAX_MEMORY_CHARS:
        raise InvalidMemory("A memory can hold at most 2,000 characters.")
    return text


def _check_kind(kind: str) -> str:
    if kind not in MemoryKind.values:
        raise InvalidMemory(f"Unknown kind {kind!r}.")
    return kind


def _clean_tags(tags: Iterable[str]) -> list[str]:
    cleaned = []
    for tag in tags:
        tag = " ".join(str(tag).split()).lower()[:60]
        if tag and tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def _find_duplicate(
    owner_id: int, project_id: int | None, text_hash: str, vector: np.ndarray
) -> Memory | None:
    """An earlier memory of the same scope saying the same thing: the same fact told in two
    projects is two memories, each read only where it belongs."""
    live = Memory.objects.filter(
        owner_id=owner_id, status__in=[Memory.Status.ACTIVE, Memory.Status.PENDING]
    ).in_scope(project_id)
    same = live.filter(content_hash=text_hash).first()
    if same is not None:
        return same
    hits = retrieval.search(
        owner_id,
        "",
        limit=1,
        scopes=Scopes.of(project_id),
        statuses=(Memory.Status.ACTIVE, Memory.Status.PENDING),
        query_vector=vector,
    )
    if hits and hits[0].similarity >= DUPLICATE_SIMILARITY:
        return live.filter(pk=hits[0].memory_id).first()
    return None


def add_memory(
    owner: User,
    text: str,
    *,
    kind: str = MemoryKind.OTHER,
    project_id: int | None = PERSON,
    slot: str = "",
    tags: Iterable[str] = (),
    metadata: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
    source_message: Message | None = None,
    source_conversation: Conversation | None = None,
    needs_approval: bool | None = None,
    memory_id: UUID | str | None = None,
    vector: np.ndarray | None = None,
    action: str = MemoryEvent.Action.ADDED,
) -> AddResult:
    """Remember `text` for `owner` in the scope `project_id` (PERSON: the person's): skipped when
    already known there, superseding what it updates there.

    `needs_approval` None means: as the owner's settings say (for automatic memories).
    """
    text = clean_text(text)
    _check_kind(kind)
    _check_project(owner, project_id)
    if source_message is not None:
        source_conversation = source_message.conversation
    if vector is None:
        vector = embeddings.embed_text(text)
    text_hash = content_hash(text)
    if needs_approval is None:
        needs_approval = memory_settings(owner).require_approval
    with transaction.atomic():
        duplicate = _find_duplicate(owner.pk, project_id, text_hash, vector)
        if duplicate is not None:
            duplicate.confirmed_at = timezone.now()
            duplicate.save(update_fields=["confirmed_at"])
            return AddResult(duplicate, created=False)
        memory = Memory(
            id=memory_id or None,
            owner=owner,
            project_id=project_id,
            text=text,
            kind=kind,
            slot=slot.strip().lower()[:100],
            tags=_clean_tags(tags),
            metadata=metadata or {},
            status=Memory.Status.PENDING if needs_approval else Memory.Status.ACTIVE,
            content_hash=text_hash,
            embedding=embeddings.to_bytes(vector),
            source_message=source_message,
            source_conversation=source_conversation,
            expires_at=expires_at,
        )
        if memory.id is None:
            memory.id = Memory._meta.pk.get_default()
        _save(memory)
        _log(memory, action, new_text=text, message=source_message)
        superseded = [] if needs_approval else _supersede_slot(memory)
    return AddResult(memory, created=True, superseded=superseded)


def _check_project(owner: User, project_id: int | None) -> None:
    if (
        project_id is not None
        and not Project.objects.owned_by(owner).filter(pk=project_id).exists()
    ):
        # Callers resolve projects by owner first; this guards every other path.
        raise InvalidMemory("No such project.")


def remember_tool_result(
    conversation: Conversation,
    source: Message,
    name: str,
    arguments: dict[str, Any],
    output: str,
) -> AddResult | None:
    """Keep the output of a reusable tool, so a later turn can answer without calling it again."""
    if not memory_enabled(conversation):
        return None
    summary = f"Result of {name}({json.dumps(arguments, sort_keys=True)}): {output}"
    return add_memory(
        conversation.owner,
        summary[:MAX_MEMORY_CHARS],
        kind=MemoryKind.TOOL_RESULT,
        project_id=scope_of(conversation).home_for(MemoryKind.TOOL_RESULT),
        source_message=source,
        metadata={"tool": name, "arguments": arguments},
    )


# --- changing one memory -------------------------------------------------------------------


def _supersede_slot(memory: Memory) -> list[Memory]:
    if not memory.slot:
        return []
    older = (
        Memory.objects.filter(
            owner_id=memory.owner_id, slot=memory.slot, status=Memory.Status.ACTIVE
        )
        .in_scope(memory.project_id)
        .exclude(pk=memory.pk)
    )
    return [supersede(memory.owner, old.pk, by=memory) for old in older]


@transaction.atomic
def supersede(owner: User, memory_id: UUID | str, *, by: Memory | None) -> Memory:
    """Retire a memory that a newer one (`by`) replaces, or that is simply no longer true."""
    old = get_memory(owner, memory_id)
    old.status = Memory.Status.SUPERSEDED
    old.superseded_by = by
    _save(old, "status", "superseded_by")
    _log(
        old,
        MemoryEvent.Action.SUPERSEDED,
        old_text=old.text,
        new_text=by.text if by else "",
        related_memory=by,
        message=by.source_message if by else None,
    )
    return old


@transaction.atomic
def restore_memory(owner: User, memory_id: UUID | str) -> Memory:
    """Bring a superseded memory back; whatever had replaced it is superseded by it in turn."""
    memory = get_memory(owner, memory_id)
    if memory.status != Memory.Status.SUPERSEDED:
        raise NotSuperseded("Only a superseded memory can be restored.")
    replacement = memory.superseded_by
    memory.status = Memory.Status.ACTIVE
    memory.superseded_by = None
    memory.confirmed_at = timezone.now()
    _save(memory, "status", "superseded_by", "confirmed_at")
    _log(memory, MemoryEvent.Action.RESTORED, new_text=memory.text, related_memory=replacement)
    if replacement is not None and replacement.status == Memory.Status.ACTIVE and replacement.slot:
        supersede(owner, replacement.pk, by=memory)
    return memory


@transaction.atomic
def update_memory(
    owner: User,
    memory_id: UUID | str,
    *,
    text: str | None = None,
    kind: str | None = None,
    tags: Iterable[str] | None = None,
    expires_at: datetime | bool | None = False,
) -> Memory:
    """Edit a memory; a new text is embedded at once, so the next answer searches the new words.

    `expires_at=False` leaves the expiry as it is; None removes it.
    """
    memory = get_memory(owner, memory_id)
    changed = []
    old_text = memory.text
    if text is not None and clean_text(text) != memory.text:
        memory.text = clean_text(text)
        memory.content_hash = content_hash(memory.text)
        memory.embedding = embeddings.to_bytes(embeddings.embed_text(memory.text))
        changed += ["text", "content_hash", "embedding"]
    if kind is not None and kind != memory.kind:
        memory.kind = _check_kind(kind)
        changed.append("kind")
    if tags is not None and _clean_tags(tags) != memory.tags:
        memory.tags = _clean_tags(tags)
        changed.append("tags")
    if expires_at is not False and expires_at != memory.expires_at:
        memory.expires_at = expires_at
        changed.append("expires_at")
    if changed:
        memory.confirmed_at = timezone.now()
        _save(memory, *changed, "confirmed_at")
        _log(memory, MemoryEvent.Action.EDITED, old_text=old_text, new_text=memory.text)
    return memory


@transaction.atomic
def approve_memory(owner: User, memory_id: UUID | str, *, text: str | None = None) -> Memory:
    memory = get_memory(owner, memory_id)
    if memory.status != Memory.Status.PENDING:
        raise NotPending("That memory is not waiting for approval.")
    if text is not None:
        memory = update_memory(owner, memory_id, text=text)
    memory.status = Memory.Status.ACTIVE
    memory.confirmed_at = timezone.now()
    _save(memory, "status", "confirmed_at")
    _log(memory, MemoryEvent.Action.APPROVED, new_text=memory.text)
    _supersede_slot(memory)
    return memory


@transaction.atomic
def discard_pending(owner: User, memory_id: UUID | str) -> None:
    memory = get_memory(owner, memory_id)
    if memory.status != Memory.Status.PENDING:
        raise NotPending("That memory is not waiting for approval.")
    memory.delete()
    _bump_epoch(owner.pk)


@transaction.atomic
def confirm_memory(owner: User, memory_id: UUID | str) -> Memory:
    """The owner says the memory is still true: it is fresh again."""
    memory = get_memory(owner, memory_id)
    memory.confirmed_at = timezone.now()
    memory.save(update_fields=["confirmed_at"])
    _log(memory, MemoryEvent.Action.CONFIRMED, new_text=memory.text)
    return memory


# --- scopes ----------------------------------------------------------------------------------


def _scope_label(project: Project | None) -> str:
    return f"Project: {project.name}" if project is not None else "Personal"


@transaction.atomic
def move_memory(owner: User, memory_id: UUID | str, project: Project | None) -> Memory:
    """Put a memory in `project`'s scope, or the person's when None."""
    memory = get_memory(owner, memory_id)
    _check_project(owner, project.pk if project else PERSON)
    if memory.project_id == (project.pk if project else PERSON):
        return memory
    old_scope = _scope_label(memory.project)
    memory.project = project
    _save(memory, "project")
    _log(memory, MemoryEvent.Action.MOVED, old_text=old_scope, new_text=_scope_label(project))
    return memory


def copy_memory(owner: User, memory_id: UUID | str, project: Project | None) -> AddResult:
    """The same memory, also kept in `project`'s scope (or the person's when None)."""
    memory = get_memory(owner, memory_id)
    return add_memory(
        owner,
        memory.text,
        kind=memory.kind,
        project_id=project.pk if project else PERSON,
        tags=memory.tags,
        metadata={"copied_from": str(memory.pk)},
        expires_at=memory.expires_at,
        needs_approval=False,
        vector=embeddings.from_bytes(memory.embedding),
    )


# --- the embedding model ---------------------------------------------------------------------

# Memories embedded again per transaction when the model changes.
REEMBED_BATCH = 256


def reembed_memories() -> int:
    """Embed every memory's text again with the current model, after the model changed: a search
    compares the question's vector with stored ones, which must come from the same model. Each
    owner's search indexes then reload. Returns how many memories were embedded."""
    embedded = 0
    for owner_id in Memory.objects.values_list("owner_id", flat=True).distinct().order_by():
        ids = list(Memory.objects.filter(owner_id=owner_id).values_list("pk", flat=True))
        for start in range(0, len(ids), REEMBED_BATCH):
            with transaction.atomic():
                batch = list(
                    Memory.objects.select_for_update()
                    .filter(pk__in=ids[start : start + REEMBED_BATCH])
                    .only("id", "text")
                )
                vectors = embeddings.embed_texts([memory.text for memory in batch])
                for memory, vector in zip(batch, vectors, strict=True):
                    memory.embedding = embeddings.to_bytes(vector)
                Memory.objects.bulk_update(batch, ["embedding"])
            embedded += len(batch)
        _bump_epoch(owner_id)
    return embedded


# --- deleting ----------------------------------------------------------------------------------


@transaction.atomic
def delete_memory(owner: User, memory_id: UUID | str, *, message: Message | None = None) -> Memory:
    """Delete a memory, keeping it hidden but recoverable until the undo window closes."""
    memory = get_memory(owner, memory_id)
    memory.metadata = {**memory.metadata, "status_before_delete": memory.status}
    memory.status = Memory.Status.DELETED
    memory.deleted_at = timezone.now()
    _save(memory, "status", "deleted_at", "metadata")
    _log(memory, MemoryEvent.Action.DELETED, old_text=memory.text, message=message)
    return memory


@transaction.atomic
def undo_delete(owner: User, memory_id: UUID | str) -> Memory:
    memory = get_memory_or_deleted(owner, memory_id)
    if memory.status != Memory.Status.DELETED:
        raise NotDeleted("That memory is not deleted.")
    memory.status = memory.metadata.pop("status_before_delete", Memory.Status.ACTIVE)
    memory.deleted_at = None
    _save(memory, "status", "deleted_at", "metadata")
    _log(memory, MemoryEvent.Action.UNDELETED, new_text=memory.text)
    return memory


def delete_memories(owner: User, memory_ids: Iterable[UUID | str]) -> int:
    deleted = 0
    for memory_id in memory_ids:
        try:
            delete_memory(owner, memory_id)
        except MemoryNotFound:
            continue
        deleted += 1
    return deleted


def undo_delete_memories(owner: User, memory_ids: Iterable[UUID | str]) -> int:
    restored = 0
    for memory_id in memory_ids:
        try:
            undo_delete(owner, memory_id)
        except (MemoryNotFound, NotDeleted):
            continue
        restored += 1
    return restored


@transaction.atomic
def delete_all_memories(owner: User) -> int:
    """Remove every memory of the owner for good, with its history and access log."""
    count, _ = Memory.objects.filter(owner=owner).delete()
    MemoryEvent.objects.filter(owner=owner).delete()
    _bump_epoch(owner.pk)
    return count


def delete_project_memories(project: Project) -> int:
    """Remove the project's memories for good (the project is going); the person's stay."""
    count, _ = Memory.objects.filter(owner_id=project.owner_id, project=project).delete()
    _bump_epoch(project.owner_id)
    return count


def forget_matching(
    owner: User, about: str, *, scopes: Scopes, message: Message | None = None
) -> list[Memory]:
    """Delete the memories in `scopes` that best match a description ("that I like tea")."""
    if not about.strip():
        return []
    hits = retrieval.search(owner.pk, about, limit=3, scopes=scopes)
    matching = [hit for hit in hits if hit.similarity >= FORGET_SIMILARITY]
    return [delete_memory(owner, hit.memory_id, message=message) for hit in matching]


def purge_expired(*, now: datetime | None = None) -> int:
    """Delete for good every memory past its expiry, and deleted ones past the undo window."""
    now = now or timezone.now()
    undo_window = timedelta(days=settings.MEMORY_UNDO_DAYS)
    doomed = Memory.objects.filter(
        Q(expires_at__lte=now) | Q(status=Memory.Status.DELETED, deleted_at__lte=now - undo_window)
    )
    owners = set(doomed.values_list("owner_id", flat=True))
    with transaction.atomic():
        count, _ = doomed.delete()
        for owner_id in owners:
            _bump_epoch(owner_id)
    return count
