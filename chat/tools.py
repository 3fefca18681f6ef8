"""General tools the model may call, besides the memory tools."""

import json
import zoneinfo
from datetime import datetime
from typing import Any

from chat.agent import Tool


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
