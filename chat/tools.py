"""The tools the model may call mid-answer: the memory tools and a few general ones."""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async

from chat.models import Message
from memories import selectors as memory_selectors
from memories import services as memory_services
from memories.models import MemoryKind

if TYPE_CHECKING:
    from accounts.models import User


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


def memory_tools(owner: User, *, source: Message) -> list[Tool]:
    """The memory tools for one turn; what they store is attributed to the `source` message.

    Offer them only where memory is on (TurnMemory.enabled).
    """

    async def remember(arguments: dict[str, Any]) -> str:
        kind = arguments.get("kind") or MemoryKind.OTHER
        if kind not in MemoryKind.values:
            kind = MemoryKind.OTHER
        result = await database_sync_to_async(memory_services.add_memory)(
            owner,
            str(arguments.get("text", "")),
            kind=kind,
            tags=arguments.get("tags") or [],
            source_message=source,
            metadata={"via": "remember tool"},
        )
        status = "already known" if not result.created else result.memory.status
        return json.dumps({"id": str(result.memory.id), "status": status})

    async def forget(arguments: dict[str, Any]) -> str:
        forgotten = await database_sync_to_async(memory_services.forget_matching)(
            owner, str(arguments.get("about", "")), message=source
        )
        return json.dumps({"forgotten": [memory.text for memory in forgotten]})

    async def search_memory(arguments: dict[str, Any]) -> str:
        found = await database_sync_to_async(memory_selectors.search_memories)(
            owner, str(arguments.get("query", "")), limit=5
        )
        return json.dumps([{"text": item.memory.text, "kind": item.memory.kind} for item in found])

    text_schema = {"type": "string"}
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
                "properties": {"about": {**text_schema, "description": "What to forget."}},
                "required": ["about"],
            },
            run=forget,
        ),
        Tool(
            name="search_memory",
            description="Search everything remembered about the user.",
            parameters={
                "type": "object",
                "properties": {"query": text_schema},
                "required": ["query"],
            },
            run=search_memory,
        ),
    ]


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
