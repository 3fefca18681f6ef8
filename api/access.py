"""What a token may do with memories, for the REST API and the MCP server alike.

Each function takes the token, keeps to its scopes, writes through memories.services (so
duplicates, supersession and history work as in the chat) and records the call in the log. A
memory outside the token's scopes is "not found", never "forbidden".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet
from django.utils import timezone

from memories import recall, selectors, services, tokens
from memories.models import AccessToken, Memory, MemoryEvent
from memories.scopes import Scopes
from memories.selectors import MemoryNotFound, RecalledMemory

# Search over-fetches this many times the limit when it must filter by metadata afterwards.
METADATA_FILTER_REACH = 5


class ReadOnlyToken(Exception):
    """The token may read but not write."""


@dataclass(frozen=True)
class SearchQuery:
    query: str
    limit: int
    kinds: tuple[str, ...] = ()
    tag: str = ""
    scope: str = ""
    metadata: dict[str, Any] | None = None


def _scopes_for(token: AccessToken, scope: str) -> Scopes:
    """The token's scopes, narrowed to one when the caller names it."""
    if not scope:
        return tokens.readable_scopes(token)
    return Scopes.of(tokens.scope_named(token, scope))


def _require_write(token: AccessToken) -> None:
    if not token.can_write:
        raise ReadOnlyToken("This token is read only.")


def get_memory(token: AccessToken, memory_id: UUID | str, *, endpoint: str) -> Memory:
    memory = _reachable(token, memory_id)
    tokens.record_call(token, endpoint, [memory])
    return memory


def _reachable(token: AccessToken, memory_id: UUID | str) -> Memory:
    memory = selectors.get_memory(token.owner, memory_id)
    if not tokens.readable_scopes(token).allows(memory.project_id):
        raise MemoryNotFound("No such memory.")
    return memory


def add_memory(
    token: AccessToken,
    text: str,
    *,
    endpoint: str,
    kind: str = "other",
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
    scope: str = "",
) -> services.AddResult:
    _require_write(token)
    project_id = tokens.scope_named(token, scope)
    result = services.add_memory(
        token.owner,
        text,
        kind=kind,
        project_id=project_id,
        tags=tags or (),
        # The dashboard shows which token wrote it.
        metadata={**(metadata or {}), "via_token": token.name},
        expires_at=expires_at,
        needs_approval=False,
    )
    tokens.record_call(token, endpoint, [result.memory], wrote=True)
    return result


def update_memory(
    token: AccessToken, memory_id: UUID | str, *, endpoint: str, **changes: Any
) -> Memory:
    _require_write(token)
    memory = services.update_memory(token.owner, _reachable(token, memory_id).pk, **changes)
    tokens.record_call(token, endpoint, [memory], wrote=True)
    return memory


def delete_memory(token: AccessToken, memory_id: UUID | str, *, endpoint: str) -> Memory:
    _require_write(token)
    memory = services.delete_memory(token.owner, _reachable(token, memory_id).pk)
    tokens.record_call(token, endpoint, [memory], wrote=True)
    return memory


def history_of(token: AccessToken, memory_id: UUID | str, *, endpoint: str) -> list[MemoryEvent]:
    memory = _reachable(token, memory_id)
    tokens.record_call(token, endpoint, [memory])
    return selectors.history_of(token.owner, memory.pk)


def search_memories(
    token: AccessToken, search: SearchQuery, *, endpoint: str
) -> list[RecalledMemory]:
    reach = search.limit * METADATA_FILTER_REACH if search.metadata else search.limit
    found = selectors.search_memories(
        token.owner,
        search.query,
        scopes=_scopes_for(token, search.scope),
        limit=reach,
        kinds=search.kinds,
        tag=search.tag,
    )
    if search.metadata:
        found = [item for item in found if _has_metadata(item.memory, search.metadata)]
    found = found[: search.limit]
    tokens.record_call(token, endpoint, [item.memory for item in found])
    return found


def _has_metadata(memory: Memory, wanted: dict[str, Any]) -> bool:
    return all(memory.metadata.get(key) == value for key, value in wanted.items())


def list_memories(
    token: AccessToken, *, kind: str = "", tag: str = "", scope: str = ""
) -> QuerySet[Memory]:
    """The token's memories, newest first; the caller pages them and records the page."""
    memories = (
        selectors.memories_of(token.owner)
        .filter(status=Memory.Status.ACTIVE)
        .filter(selectors.in_scopes(_scopes_for(token, scope)))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .order_by("-created_at", "-pk")
    )
    if kind:
        memories = memories.filter(kind=kind)
    if tag:
        # Tags are a JSON list that SQLite cannot look inside, as in the dashboard.
        memories = memories.filter(
            pk__in=[pk for pk, tags in memories.values_list("pk", "tags") if tag in tags]
        )
    return memories


def record_page(token: AccessToken, page: list[Memory], *, endpoint: str) -> None:
    tokens.record_call(token, endpoint, page)


def preview_recall(token: AccessToken, message: str, *, endpoint: str) -> list[RecalledMemory]:
    """What a chat in the token's scopes would inject for this message."""
    recalled = recall.recall(token.owner, message, scopes=tokens.readable_scopes(token))
    tokens.record_call(token, endpoint, [item.memory for item in recalled])
    return recalled
