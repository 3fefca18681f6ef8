"""chat.agent.stream_reply through the real openai SDK, against a real Responses server."""

import json
import re
from typing import Any

import pytest

from chat import agent
from chat.offline import compose_reply
from chat.tools import Tool
from config.upstream import uses_offline_model
from tests.upstream import Cut, ErrorEvent, Failed, FunctionCall, Hang, HTTPError, Text

TURNS = [
    {"role": "user", "content": "What is the capital of Portugal?"},
    {"role": "assistant", "content": "Lisbon."},
    {"role": "user", "content": "And of Spain?"},
]


async def reply_events(
    input_items: list[dict[str, Any]] = TURNS, tools: tuple[agent.Tool, ...] = ()
) -> list[agent.ReplyEvent]:
    return [
        event
        async for event in agent.stream_reply(
            instructions="Answer briefly.", input_items=input_items, tools=tools
        )
    ]


def texts(events: list[agent.ReplyEvent]) -> list[str]:
    return [event.text for event in events if isinstance(event, agent.TextDelta)]


def expected_input_tokens(body: dict[str, Any]) -> int:
    # How tests/upstream.py counts a request's input tokens.
    return max(1, len(json.dumps(body["input"])) // 4)


def lookup_tool(calls: list[dict[str, Any]]) -> agent.Tool:
    async def run(arguments: dict[str, Any]) -> str:
        calls.append(arguments)
        return json.dumps({"capital": "Madrid"})

    return Tool(
        name="lookup_capital",
        description="The capital of a country.",
        parameters={"type": "object", "properties": {"country": {"type": "string"}}},
        run=run,
    )


def function_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in body["input"] if item.get("type", "").startswith("function_call")]


async def test_text_streams_in_order_then_done_with_response_id_and_usage(upstream):
    upstream.script(Text("Madrid, of course.", chunks=["Mad", "rid,", " of", " course."]))

    events = await reply_events()

    assert texts(events) == ["Mad", "rid,", " of", " course."]
    done = events[-1]
    assert isinstance(done, agent.ReplyDone)
    assert re.fullmatch(r"resp_\d+", done.response_id)
    (body,) = upstream.responses_bodies()
    assert (done.input_tokens, done.output_tokens) == (expected_input_tokens(body), 4)


async def test_request_carries_instructions_turns_stream_and_configured_model(upstream, settings):
    settings.OPENAI_MODEL = "my-configured-model"

    await reply_events()

    (body,) = upstream.responses_bodies()
    assert body["model"] == "my-configured-model"
    assert body["instructions"] == "Answer briefly."
    assert body["input"] == TURNS
    assert body["stream"] is True
    assert "tools" not in body


async def test_tools_are_offered_to_the_model(upstream):
    await reply_events(tools=(lookup_tool([]),))

    (body,) = upstream.responses_bodies()
    assert [(tool["type"], tool["name"]) for tool in body["tools"]] == [
        ("function", "lookup_capital")
    ]
    assert body["tools"][0]["parameters"]["properties"] == {"country": {"type": "string"}}


async def test_function_call_runs_the_tool_and_sends_its_output_back(upstream):
    calls: list[dict[str, Any]] = []
    upstream.script(
        FunctionCall("lookup_capital", '{"country": "Spain"}', call_id="call_7"),
        Text("It is Madrid."),
    )

    events = await reply_events(tools=(lookup_tool(calls),))

    assert calls == [{"country": "Spain"}]
    called = next(event for event in events if isinstance(event, agent.ToolCalled))
    assert (called.name, called.arguments) == ("lookup_capital", {"country": "Spain"})
    assert json.loads(called.output) == {"capital": "Madrid"}
    assert "".join(texts(events)) == "It is Madrid."
    assert isinstance(events[-1], agent.ReplyDone)
    first, second = upstream.responses_bodies()
    assert function_items(first) == []
    assert function_items(second) == [
        {
            "type": "function_call",
            "call_id": "call_7",
            "name": "lookup_capital",
            "arguments": '{"country": "Spain"}',
        },
        {"type": "function_call_output", "call_id": "call_7", "output": called.output},
    ]
    assert second["input"][: len(TURNS)] == TURNS


async def test_usage_adds_up_over_the_tool_rounds(upstream):
    upstream.script(FunctionCall("lookup_capital", '{"country": "Spain"}'), Text("Madrid."))

    events = await reply_events(tools=(lookup_tool([]),))

    done = events[-1]
    assert isinstance(done, agent.ReplyDone)
    first, second = upstream.responses_bodies()
    assert done.input_tokens == expected_input_tokens(first) + expected_input_tokens(second)
    # The call's arguments count len//4 = 5 tokens, the one-word answer 1.
    assert done.output_tokens == 5 + 1


async def test_unknown_tool_gets_an_error_output_and_the_reply_goes_on(upstream):
    calls: list[dict[str, Any]] = []
    upstream.script(FunctionCall("launch_rockets", "{}", call_id="call_x"), Text("Sorry."))

    events = await reply_events(tools=(lookup_tool(calls),))

    called = next(event for event in events if isinstance(event, agent.ToolCalled))
    assert "unknown tool 'launch_rockets'" in json.loads(called.output)["error"]
    assert calls == []
    assert isinstance(events[-1], agent.ReplyDone)
    output = function_items(upstream.responses_bodies()[1])[-1]
    assert output == {"type": "function_call_output", "call_id": "call_x", "output": called.output}


async def test_arguments_that_are_not_json_get_an_error_output_without_running_the_tool(upstream):
    calls: list[dict[str, Any]] = []
    upstream.script(FunctionCall("lookup_capital", '{"country": Spa'), Text("Let me retry."))

    events = await reply_events(tools=(lookup_tool(calls),))

    called = next(event for event in events if isinstance(event, agent.ToolCalled))
    assert json.loads(called.output) == {"error": "arguments were not valid JSON"}
    assert calls == []
    assert isinstance(events[-1], agent.ReplyDone)
    assert function_items(upstream.responses_bodies()[1])[-1]["output"] == called.output


async def test_a_tool_that_raises_gets_an_error_output(upstream):
    async def broken(arguments: dict[str, Any]) -> str:
        raise RuntimeError("secret internals")

    tool = Tool("lookup_capital", "", {"type": "object"}, run=broken)
    upstream.script(FunctionCall("lookup_capital", "{}"), Text("It failed."))

    events = await reply_events(tools=(tool,))

    called = next(event for event in events if isinstance(event, agent.ToolCalled))
    assert json.loads(called.output) == {"error": "tool lookup_capital failed"}
    assert "secret internals" not in called.output
    assert isinstance(events[-1], agent.ReplyDone)


async def test_response_failed_ends_with_our_message(upstream):
    upstream.script(Failed("model overloaded"))

    events = await reply_events()

    assert events == [agent.ReplyFailed("The model failed to answer.")]


async def test_error_event_ends_with_reply_failed(upstream):
    upstream.script(ErrorEvent("slow down please"))

    events = await reply_events()

    assert events == [agent.ReplyFailed(agent.UPSTREAM_ERROR)]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "The model server rejected our credentials (401). Check OPENAI_API_KEY."),
        (429, "The model server is rate limiting us (429). Please try again in a moment."),
        (500, "The model server had an internal error (500). Please try again."),
    ],
)
async def test_http_errors_end_with_a_clear_message(upstream, status, message):
    # One behaviour per attempt: the SDK retries 429 and 5xx (instantly, thanks to retry-after).
    upstream.script(*[HTTPError(status, "upstream says no")] * 3)

    events = await reply_events()

    assert events == [agent.ReplyFailed(message)]


async def test_a_stream_cut_midway_keeps_the_text_then_fails_on_the_connection(upstream):
    upstream.script(Cut("Madrid is the capital", after_chunks=2))

    events = await reply_events()

    assert texts(events) == ["Madrid", " is"]
    assert events[-1] == agent.ReplyFailed(agent.BROKEN_STREAM)
    assert len(upstream.responses_bodies()) == 1


async def test_a_hanging_server_times_out_with_a_clear_message(upstream, settings):
    settings.OPENAI_TIMEOUT_SECONDS = 0.1
    upstream.script(*[Hang(2)] * 3)

    events = await reply_events()

    assert events == [agent.ReplyFailed("The model server took too long to answer.")]


async def test_offline_model_streams_its_reply_through_the_sdk_and_mentions_memories():
    memories = (
        "<user_memories>\nNotes remembered about this user.\n"
        "- Prefers green tea (preference, 2025-01-02)\n"
        "- Lives in Lisbon (profile, 2025-01-03)\n</user_memories>"
    )
    items = [
        {"role": "developer", "content": memories},
        {"role": "user", "content": "What should I drink?"},
    ]

    events = await reply_events(items)

    assert uses_offline_model()
    reply = "".join(texts(events))
    assert reply == compose_reply(items)
    assert len(texts(events)) > 1
    assert "You said: “What should I drink?”" in reply
    assert "Prefers green tea (preference, 2025-01-02)" in reply
    assert "Lives in Lisbon (profile, 2025-01-03)" in reply
    done = events[-1]
    assert isinstance(done, agent.ReplyDone)
    assert done.response_id.startswith("resp_offline_")
    assert done.output_tokens == len(reply.split())


async def test_offline_model_without_memories_says_it_has_none():
    events = await reply_events([{"role": "user", "content": "Hello there"}])

    reply = "".join(texts(events))
    assert "I have no memories that seem relevant to this yet." in reply
    assert "From memory I know" not in reply
