"""A model that keeps calling tools is stopped after CHAT_TOOL_ROUNDS rounds."""

import json
from typing import Any

from chat import agent
from chat.tools import Tool
from tests.upstream import FunctionCall, Text


async def test_a_model_calling_tools_forever_is_stopped(upstream, settings):
    settings.CHAT_TOOL_ROUNDS = 2
    calls: list[dict[str, Any]] = []

    async def run(arguments: dict[str, Any]) -> str:
        calls.append(arguments)
        return json.dumps({"ok": True})

    tool = Tool("ping", "Ping.", {"type": "object"}, run=run)
    upstream.script(*[FunctionCall("ping", "{}") for _ in range(6)], Text("Finally."))

    events = [
        event
        async for event in agent.stream_reply(
            instructions="", input_items=[{"role": "user", "content": "Hi"}], tools=[tool]
        )
    ]

    assert events[-1] == agent.ReplyFailed(
        "The model kept calling tools without answering; stopped."
    )
    assert len(upstream.responses_bodies()) == 3
    assert len(calls) == 3
