"""The shapes the REST API reads and writes. Inputs refuse unknown fields, so a typo is an error."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints

from memories.models import MemoryKind
from memories.services import MAX_MEMORY_CHARS

# "" (the token's own scope), "person" or "project:<id>".
SCOPE_PATTERN = r"^(person|project:[0-9]{1,12})?$"
ScopeName = Annotated[str, StringConstraints(pattern=SCOPE_PATTERN)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=60)]
MetadataValue = str | int | float | bool | None


class StrictSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class MemoryIn(StrictSchema):
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_MEMORY_CHARS)]
    kind: MemoryKind = MemoryKind.OTHER
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    metadata: dict[Annotated[str, StringConstraints(max_length=60)], MetadataValue] = Field(
        default_factory=dict, max_length=20
    )
    expires_at: datetime | None = None
    scope: ScopeName = ""


class MemoryPatch(StrictSchema):
    """Only the fields sent change; `expires_at: null` removes the expiry."""

    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_MEMORY_CHARS)] | None = None
    kind: MemoryKind | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)
    expires_at: datetime | None = None


class SearchIn(StrictSchema):
    query: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    limit: int = Field(default=10, ge=1, le=50)
    kinds: list[MemoryKind] = Field(default_factory=list, max_length=10)
    tag: Annotated[str, StringConstraints(max_length=60)] = ""
    scope: ScopeName = ""
    metadata: dict[Annotated[str, StringConstraints(max_length=60)], MetadataValue] = Field(
        default_factory=dict, max_length=10
    )


class PreviewIn(StrictSchema):
    message: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class MemoryOut(Schema):
    id: UUID
    text: str
    kind: str
    tags: list[str]
    metadata: dict[str, Any]
    scope: str
    status: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None


class AddedOut(Schema):
    memory: MemoryOut
    created: bool
    superseded: list[UUID]


class HitOut(Schema):
    memory: MemoryOut
    score: float


class SearchOut(Schema):
    results: list[HitOut]


class MemoryPage(Schema):
    items: list[MemoryOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class EventOut(Schema):
    action: str
    old_text: str
    new_text: str
    created_at: datetime


class EventPage(Schema):
    items: list[EventOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class PreviewOut(Schema):
    memories: list[HitOut]
    context: str


class ErrorOut(Schema):
    detail: str
    field: str | None = None
