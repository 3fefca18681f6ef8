"""The tools the model may call mid-answer: the memory tools and a few general ones."""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chat.models import Conversation, Message
from chat.turn_threads import in_turn_thread
from memories import selectors as memory_selectors
from memories import services as memory_services
from memories.models import MemoryKind
from memories.scopes import ChatScope, ScopeRefused, Scopes, scope_of

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Tool:
    """A function the model may call: `run` takes the parsed arguments, returns the output."""

    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[dict[str, Any]], Awaitable[str]]
    # A reusable tool's results are worth remembering (as tool_result memories).
    reusable: bool = False

    def as_responses_tool(self) -> dict[str, Any]:
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "strict": False,
        }


def memory_tools(conversation: Conversation, *, source: Message | None) -> list[Tool]:
    """The memory tools for one turn of `conversation`, confined to its scopes; what they store
    is attributed to the `source` message (None: a voice session before its first words).

    Offer them only where memory is on (TurnMemory.enabled).
    """
    owner = conversation.owner
    scope = scope_of(conversation)

    def searched(arguments: dict[str, Any]) -> Scopes:
        """The scopes a search or forget may reach: the chat's, or the one it named in them."""
        if not arguments.get("scope"):
            return scope.readable
        return Scopes.of(scope.named(str(arguments["scope"]), kind=MemoryKind.OTHER))

    async def remember(arguments: dict[str, Any]) -> str:
        kind = arguments.get("kind") or MemoryKind.OTHER
        if kind not in MemoryKind.values:
            kind = MemoryKind.OTHER
        try:
            project_id = scope.named(str(arguments.get("scope") or ""), kind=kind)
        except ScopeRefused as refused:
            return json.dumps({"error": str(refused)})
        result = await in_turn_thread(memory_services.add_memory)(
            owner,
            str(arguments.get("text", "")),
            kind=kind,
            project_id=project_id,
            tags=arguments.get("tags") or [],
            source_message=source,
            metadata={"via": "remember tool"},
        )
        status = "already known" if not result.created else result.memory.status
        return json.dumps({"id": str(result.memory.id), "status": status})

    async def forget(arguments: dict[str, Any]) -> str:
        try:
            scopes = searched(arguments)
        except ScopeRefused as refused:
            return json.dumps({"error": str(refused)})
        forgotten = await in_turn_thread(memory_services.forget_matching)(
            owner, str(arguments.get("about", "")), scopes=scopes, message=source
        )
        return json.dumps({"forgotten": [memory.text for memory in forgotten]})

    async def search_memory(arguments: dict[str, Any]) -> str:
        try:
            scopes = searched(arguments)
        except ScopeRefused as refused:
            return json.dumps({"error": str(refused)})
        found = await in_turn_thread(memory_selectors.search_memories)(
            owner, str(arguments.get("query", "")), scopes=scopes, limit=5
        )
        return json.dumps(
            [
                {"text": item.memory.text, "kind": item.memory.kind, "scope": _scope_name(item)}
                for item in found
            ]
        )

    text_schema = {"type": "string"}
    scope_schema = {
        "type": "string",
        "enum": _scope_names(scope),
        "description": "person: about the user, in every chat; project: this project only. "
        "Leave it out for the usual place.",
    }
    return [
        Tool(
            name="remember",
            description="Store a durable fact about the user (preference, profile, ongoing task).",
            parameters={
                "type": "object",
                "properties": {
                    "text": {**text_schema, "description": "The fact, in a short sentence."},
                    "kind": {"type": "string", "enum": list(MemoryKind.values)},
                    "tags": {"type": "array", "items": text_schema},
                    "scope": scope_schema,
                },
                "required": ["text"],
            },
            run=remember,
        ),
        Tool(
            name="forget",
            description="Forget what is remembered about something, when the user asks to.",
            parameters={
                "type": "object",
                "properties": {
                    "about": {**text_schema, "description": "What to forget."},
                    "scope": scope_schema,
                },
                "required": ["about"],
            },
            run=forget,
        ),
        Tool(
            name="search_memory",
            description="Search everything remembered about the user.",
            parameters={
                "type": "object",
                "properties": {"query": text_schema, "scope": scope_schema},
                "required": ["query"],
            },
            run=search_memory,
        ),
    ]


def _scope_names(scope: ChatScope) -> list[str]:
    names = ["person"] if scope.includes_person else []
    return [*names, "project"] if scope.project_id is not None else names


def _scope_name(item: memory_selectors.RecalledMemory) -> str:
    return "person" if item.memory.project_id is None else "project"


async def find_time_zone(arguments: dict[str, Any]) -> str:
    """The IANA time zones whose name mentions a place, with their current UTC offset."""
    place = "_".join(str(arguments.get("place", "")).strip().split()).lower()
    if not place:
        return json.dumps({"error": "name a place, e.g. Lisbon"})
    matches = sorted(
        name for name in zoneinfo.available_timezones() if place in name.lower().split("/")[-1]
    )[:5]
    return json.dumps(
        [
            {"time_zone": name, "utc_offset": datetime.now(zoneinfo.ZoneInfo(name)).strftime("%z")}
            for name in matches
        ]
    )


def general_tools() -> list[Tool]:
    return [
        Tool(
            name="find_time_zone",
            description="Find the IANA time zone of a city (e.g. Lisbon -> Europe/Lisbon).",
            parameters={
                "type": "object",
                "properties": {"place": {"type": "string"}},
                "required": ["place"],
            },
            run=find_time_zone,
            # A city's time zone does not change: worth remembering for later turns.
            reusable=True,
        )
    ]
