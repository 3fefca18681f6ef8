"""Memory exports: the one JSON payload every export writes (dashboard, admin, command), and import.

An import goes through memories.services.add_memory, so duplicates, revisions and history apply
as for any other memory. Every entry of a file is checked before any is stored: an entry that
cannot be read is skipped and reported with its number and the reason, never half-stored. A
memory's scope travels as its project's name; on import it goes to the importing owner's project
of that name, which is created when missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from chat.models import PROJECT_NAME_MAX_LENGTH, Project
from memories import embeddings, services
from memories.models import Memory, MemoryEvent, MemoryKind
from memories.selectors import memories_of

if TYPE_CHECKING:
    from accounts.models import User

EXPORT_FORMAT = "recall-memories/1"
# Entries stored (and embedded) together, between two progress reports.
IMPORT_BATCH_SIZE = 200
# How deep an entry's metadata may nest: an export's is flat; deeper is a crafted file.
METADATA_MAX_DEPTH = 10


class InvalidExport(Exception):
    """The file is not a memory export; the text says so in words a person can act on."""


@dataclass
class ImportResult:
    added: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


class _NotANumber:
    """Stands for NaN or Infinity in a parsed file, so the entry holding it can be named."""

    def __repr__(self) -> str:
        return "NaN or Infinity"


NOT_A_NUMBER = _NotANumber()


def _project_name(value: object) -> object:
    return None if value is None else " ".join(str(value).split())


def _optional_text(value: object) -> object:
    return "" if value is None else value


def _tag_list(value: object) -> object:
    # One string is one tag ("abc" is not three tags), and none is no tags.
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


def _plain_metadata(value: object) -> object:
    if value is None:
        return {}
    if _depth(value) > METADATA_MAX_DEPTH:
        raise ValueError(f"nests deeper than {METADATA_MAX_DEPTH} levels")
    if _holds(value, lambda item: item is NOT_A_NUMBER):
        raise ValueError("holds NaN or Infinity, which JSON does not allow")
    return value


def _storable_moment(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


class ImportedMemory(BaseModel):
    """One entry of an export, as it will be stored; other keys (id, history...) are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)

    text: str
    kind: Literal[tuple(MemoryKind.values)] = MemoryKind.OTHER  # type: ignore[valid-type]
    slot: Annotated[str, Field(max_length=100), BeforeValidator(_optional_text)] = ""
    tags: Annotated[list[str], BeforeValidator(_tag_list)] = []
    metadata: Annotated[dict[str, Any], BeforeValidator(_plain_metadata)] = {}
    status: Literal["active", "superseded", "pending"] = "active"
    # None: the person; a name: the importing owner's project of that name.
    project: Annotated[
        str | None,
        Field(min_length=1, max_length=PROJECT_NAME_MAX_LENGTH),
        BeforeValidator(_project_name),
    ] = None
    expires_at: Annotated[
        datetime | None, Field(strict=False), AfterValidator(_storable_moment)
    ] = None


def export_memories(owner: User) -> dict[str, Any]:
    """The owner's memories with their history, in the export format."""
    memories = (
        memories_of(owner)
        .select_related("project")
        .prefetch_related("events")
        .order_by("created_at")
    )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "memories": [
            {
                "id": str(memory.id),
                "text": memory.text,
                "kind": memory.kind,
                "project": memory.project.name if memory.project else None,
                "slot": memory.slot,
                "tags": memory.tags,
                "metadata": memory.metadata,
                "status": memory.status,
                "created_at": memory.created_at.isoformat(),
                "updated_at": memory.updated_at.isoformat(),
                "expires_at": memory.expires_at.isoformat() if memory.expires_at else None,
                "source_conversation_id": memory.source_conversation_id,
                "history": [
                    {
                        "action": event.action,
                        "old_text": event.old_text,
                        "new_text": event.new_text,
                        "at": event.created_at.isoformat(),
                    }
                    for event in memory.events.all()
                ],
            }
            for memory in memories
        ],
    }


def as_json(payload: dict[str, Any]) -> str:
    """An export (or several, by username) as the readable JSON every export writes."""
    return json.dumps(payload, indent=2, ensure_ascii=False)


def export_filename(prefix: str = "memories") -> str:
    return f"{prefix}-{timezone.localdate().isoformat()}.json"


def read_export_file(content: bytes) -> dict[str, Any]:
    """Parse an uploaded export, with a message a person can act on when it is not one."""
    try:
        data = json.loads(content.decode("utf-8"), parse_constant=lambda _: NOT_A_NUMBER)
    except UnicodeDecodeError:
        raise InvalidExport("The file is not UTF-8 text: is it a memory export?") from None
    except json.JSONDecodeError as error:
        raise InvalidExport(f"The file is not valid JSON ({error.msg}).") from None
    except RecursionError:
        raise InvalidExport("The file nests too deeply to be a memory export.") from None
    items = data.get("memories") if isinstance(data, dict) else None
    if (
        not isinstance(items, list)
        or not all(isinstance(item, dict) for item in items)
        or data.get("format") != EXPORT_FORMAT
    ):
        raise InvalidExport(f"The file is not a memory export (format {EXPORT_FORMAT}).")
    if len(items) > settings.MEMORY_IMPORT_MAX_ENTRIES:
        raise InvalidExport(
            f"The file holds {len(items):,} memories; at most "
            f"{settings.MEMORY_IMPORT_MAX_ENTRIES:,} can be imported at once. "
            "Split it into smaller files: nothing was imported."
        )
    for number, item in enumerate(items, start=1):
        # PostgreSQL cannot store a NUL, and dropping it could join two words into another.
        if _holds(item, lambda value: isinstance(value, str) and "\x00" in value):
            raise InvalidExport(
                f"Memory entry {number} contains a NUL character, which cannot be stored. "
                "Remove it and import the file again: nothing was imported."
            )
    return data


def import_memories(
    owner: User, data: dict[str, Any], *, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Load an export (as read by read_export_file) back in, skipping what the owner has.

    Entries are stored a batch at a time, each batch embedded at once; `progress` hears how
    many entries are done after each batch.
    """
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise InvalidExport(f"The file is not a memory export (format {EXPORT_FORMAT}).")
    items = data.get("memories") or []
    if not isinstance(items, list):
        raise InvalidExport("The export's 'memories' must be a list.")
    result = ImportResult()
    entries = list(_valid_entries(items, result.errors))
    done = len(items) - len(entries)
    for start in range(0, len(entries), IMPORT_BATCH_SIZE):
        batch = entries[start : start + IMPORT_BATCH_SIZE]
        _import_batch(owner, batch, result)
        done += len(batch)
        if progress is not None:
            progress(done)
    return result


def _valid_entries(items: list[Any], errors: list[str]) -> Iterator[tuple[int, ImportedMemory]]:
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.append(f"memory {number}: not an object")
            continue
        try:
            entry = ImportedMemory.model_validate(item)
            text = services.clean_text(entry.text)
        except ValidationError as error:
            errors.append(f"memory {number}: {_describe(error)}")
            continue
        except services.InvalidMemory as error:
            errors.append(f"memory {number}: {error}")
            continue
        yield number, entry.model_copy(update={"text": text})


def _import_batch(
    owner: User, batch: list[tuple[int, ImportedMemory]], result: ImportResult
) -> None:
    projects = {
        entry.project: _project_named(owner, entry.project) for _, entry in batch if entry.project
    }

    def scope_of(entry: ImportedMemory) -> int | None:
        return projects[entry.project].pk if entry.project else None

    # Duplicates are looked for within the memory's own scope.
    known = set(
        memories_of(owner)
        .filter(content_hash__in=[services.content_hash(entry.text) for _, entry in batch])
        .values_list("content_hash", "project_id")
    )
    new = [
        (n, entry)
        for n, entry in batch
        if (services.content_hash(entry.text), scope_of(entry)) not in known
    ]
    result.skipped += len(batch) - len(new)
    vectors = embeddings.embed_texts([entry.text for _, entry in new])
    with transaction.atomic():
        for (_, entry), vector in zip(new, vectors, strict=True):
            if _import_one(owner, entry, vector, project_id=scope_of(entry)):
                result.added += 1
            else:
                result.skipped += 1


def _import_one(owner: User, entry: ImportedMemory, vector: Any, *, project_id: int | None) -> bool:
    superseded = entry.status == Memory.Status.SUPERSEDED
    added = services.add_memory(
        owner,
        entry.text,
        kind=entry.kind,
        project_id=project_id,
        slot="" if superseded else entry.slot,
        tags=entry.tags,
        metadata={**entry.metadata, "imported": True},
        expires_at=entry.expires_at,
        needs_approval=entry.status == Memory.Status.PENDING,
        vector=vector,
        action=MemoryEvent.Action.IMPORTED,
    )
    if not added.created:
        return False
    if superseded:
        services.supersede(owner, added.memory.pk, by=None)
    return True


def _project_named(owner: User, name: str) -> Project:
    """The owner's project called `name` (any case), created when missing."""
    existing = Project.objects.owned_by(owner).filter(name__iexact=name).first()
    return existing or Project.objects.create(owner=owner, name=name)


def _describe(error: ValidationError) -> str:
    """The first problem of an entry, as "field: what is wrong" (pydantic's words, trimmed)."""
    problem = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in problem["loc"]) or "entry"
    message = problem["msg"].removeprefix("Value error, ")
    return f"{where}: {message}"


def _holds(data: object, matches: Callable[[object], bool]) -> bool:
    """Whether any value of parsed JSON, keys included, matches."""
    # A loop, not recursion: how deep an uploaded file nests is up to whoever wrote it.
    pending = [data]
    while pending:
        item = pending.pop()
        if matches(item):
            return True
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _depth(data: object) -> int:
    deepest = 0
    pending = [(data, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in _children(item))
    return deepest


def _children(item: dict | list) -> list:
    return list(item.values()) if isinstance(item, dict) else item
