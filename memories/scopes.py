"""Where a memory belongs and which memories a read may see: the person's, or one project's.

A person-level memory has no project (its scope is PERSON). A chat outside projects reads only
those; a chat in a project also reads that project's; a project in project-only mode reads and
writes its own memories and nothing of the person's. Nothing ever reads another project's.
"""

from __future__ import annotations

from dataclasses import dataclass

from chat.models import Conversation, Project
from memories.models import MemoryKind

# The scope of person-level memories: they belong to no project.
PERSON = None

# Facts about the work rather than the person: in a project chat they go to the project.
WORK_KINDS = frozenset(
    {MemoryKind.TASK, MemoryKind.TOOL_RESULT, MemoryKind.SUMMARY, MemoryKind.OTHER}
)


class ScopeRefused(Exception):
    """A scope this chat may not read or write; the text says why, for the model or the user."""


@dataclass(frozen=True)
class Scopes:
    """A set of scopes a search may see: project ids, with PERSON for person-level memories.

    Every search names its scopes; only the dashboard and the owner's own tools ask for all of
    them (`Scopes.everything()`).
    """

    project_ids: frozenset[int | None]
    every: bool = False

    @classmethod
    def of(cls, *project_ids: int | None) -> Scopes:
        return cls(frozenset(project_ids))

    @classmethod
    def everything(cls) -> Scopes:
        return cls(frozenset(), every=True)

    def allows(self, project_id: int | None) -> bool:
        return self.every or project_id in self.project_ids


# Every scope of the owner: the dashboard's and the export's view.
EVERYWHERE = Scopes.everything()
# What a chat outside projects reads.
PERSON_ONLY = Scopes.of(PERSON)


@dataclass(frozen=True)
class ChatScope:
    """The scopes of one conversation: its project (if any), and whether the person's count."""

    project_id: int | None
    includes_person: bool

    @property
    def readable(self) -> Scopes:
        if self.project_id is None:
            return Scopes.of(PERSON)
        if self.includes_person:
            return Scopes.of(PERSON, self.project_id)
        return Scopes.of(self.project_id)

    def home_for(self, kind: str) -> int | None:
        """Where a new fact of this kind is written: work facts to the project, the rest to the
        person (or to the project too, when the project keeps to itself)."""
        if self.project_id is not None and (kind in WORK_KINDS or not self.includes_person):
            return self.project_id
        return PERSON

    def named(self, name: str, *, kind: str) -> int | None:
        """The scope a tool asked for by name ("person", "project", or "" for the usual one)."""
        if not name:
            return self.home_for(kind)
        if name == "project":
            if self.project_id is None:
                raise ScopeRefused("This chat is not in a project.")
            return self.project_id
        if name == "person":
            if not self.includes_person:
                raise ScopeRefused("This project keeps to its own memories.")
            return PERSON
        raise ScopeRefused(f"Unknown scope {name!r}: use 'person' or 'project'.")


def scope_of(conversation: Conversation) -> ChatScope:
    project = conversation.project
    if project is None:
        return ChatScope(project_id=PERSON, includes_person=True)
    return ChatScope(
        project_id=project.pk, includes_person=project.memory_mode == Project.MemoryMode.SHARED
    )
