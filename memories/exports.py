"""Memory exports: the one JSON payload every export writes (dashboard, admin, command), and import.

An import goes through memories.services.add_memory, so duplicates, revisions and history apply
as for any other memory. A memory's scope travels as its project's name; on import it goes to the
importing owner's project of that name, which is created when missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from chat.models import PROJECT_NAME_MAX_LENGTH, Project
from memories import services
from memories.models import Memory, MemoryEvent, MemoryKind
from memories.selectors import memories_of

if TYPE_CHECKING:
    from accounts.models import User

EXPORT_FORMAT = "recall-memories/1"


class InvalidExport(Exception):
    """The file is not a memory export; the text says so in words a person can act on."""


@dataclass
class ImportResult:
    added: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


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
        data = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidExport("The file is not UTF-8 text: is it a memory export?") from None
    except json.JSONDecodeError as error:
        raise InvalidExport(f"The file is not valid JSON ({error.msg}).") from None
    items = data.get("memories") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise InvalidExport(f"The file is not a memory export (format {EXPORT_FORMAT}).")
    return data


def import_memories(owner: User, data: dict[str, Any]) -> ImportResult:
    """Load an export (as read by read_export_file) back in, skipping what the owner has."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise InvalidExport(f"The file is not a memory export (format {EXPORT_FORMAT}).")
    items = data.get("memories") or []
    if not isinstance(items, list):
        raise InvalidExport("The export's 'memories' must be a list.")
    result = ImportResult()
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            result.errors.append(f"memory {position}: not an object")
            continue
        try:
            added = _import_one(owner, item)
        except (services.InvalidMemory, ValueError, TypeError, KeyError) as error:
            result.errors.append(f"memory {position}: {error}")
            continue
        if added:
            result.added += 1
        else:
            result.skipped += 1
    return result


def _import_one(owner: User, item: dict[str, Any]) -> bool:
    status = item.get("status", Memory.Status.ACTIVE)
    if status not in (Memory.Status.ACTIVE, Memory.Status.SUPERSEDED, Memory.Status.PENDING):
        raise services.InvalidMemory(f"unknown status {status!r}")
    expires_at = parse_datetime(item["expires_at"]) if item.get("expires_at") else None
    project = _project_named(owner, item.get("project"))
    known = memories_of(owner).in_scope(project and project.pk)
    if known.filter(content_hash=services.content_hash(str(item["text"]))).exists():
        return False
    result = services.add_memory(
        owner,
        str(item["text"]),
        kind=item.get("kind", MemoryKind.OTHER),
        project_id=project and project.pk,
        slot="" if status == Memory.Status.SUPERSEDED else item.get("slot", ""),
        tags=item.get("tags") or [],
        metadata={**(item.get("metadata") or {}), "imported": True},
        expires_at=expires_at,
        needs_approval=status == Memory.Status.PENDING,
        action=MemoryEvent.Action.IMPORTED,
    )
    if not result.created:
        return False
    if status == Memory.Status.SUPERSEDED:
        services.supersede(owner, result.memory.pk, by=None)
    return True


def _project_named(owner: User, name: object) -> Project | None:
    """The owner's project called `name` (any case), created when missing; None: the person."""
    if name is None:
        return None
    name = " ".join(str(name).split())
    if not name or len(name) > PROJECT_NAME_MAX_LENGTH:
        raise services.InvalidMemory("its project name is empty or too long")
    existing = Project.objects.owned_by(owner).filter(name__iexact=name).first()
    return existing or Project.objects.create(owner=owner, name=name)
