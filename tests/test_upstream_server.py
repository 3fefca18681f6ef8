"""The fake upstream in tests/upstream.py works with the real, unpatched openai SDK."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest

from tests.upstream import (
    Cut,
    Delayed,
    ErrorEvent,
    Failed,
    FunctionCall,
    Hang,
    HTTPError,
    ResponsesServer,
    Text,
)

TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


@pytest.fixture(scope="module")
def server() -> Iterator[ResponsesServer]:
    with ResponsesServer() as srv:
        yield srv


@pytest.fixture
async def client(server: ResponsesServer) -> AsyncIterator[openai.AsyncOpenAI]:
    server.reset()
    # Strict validation makes the SDK check every event against its pydantic types.
    api = openai.AsyncOpenAI(
        base_url=server.base_url,
        api_key="test",
        max_retries=0,
        timeout=5,
        _strict_response_validation=True,
    )
    yield api
    await api.close()


async def collect(api: openai.AsyncOpenAI, input: Any = "hi", **kwargs: Any) -> list[Any]:
    stream = await api.responses.create(model="gpt-test", input=input, stream=True, **kwargs)
    return [event async for event in stream]


async def test_text_stream_deltas_in_order_and_completed_usage(
    client: openai.AsyncOpenAI, server: ResponsesServer
) -> None:
    server.script(Text("Hello brave world", chunks=["Hello", " brave", " world"]))

    events = await collect(client)

    assert [e.type for e in events] == TEXT_EVENTS
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == [
        "Hello",
        " brave",
        " world",
    ]
    completed = events[-1].response
    assert completed.id == events[0].response.id
    assert completed.status == "completed"
    assert completed.output_text == "Hello brave world"
    assert completed.usage.output_tokens == 3
    assert completed.usage.total_tokens == completed.usage.input_tokens + 3


async def test_default_reply_echoes_last_user_text(client: openai.AsyncOpenAI) -> None:
    conversation = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "input_text", "text": "second"}]},
    ]

    events = await collect(client, input=conversation)

    assert events[-1].response.output_text == "You said: second"


async def test_stream_helper_accumulates_final_response(
    client: openai.AsyncOpenAI, server: ResponsesServer
) -> None:
    server.script(Text("one two three"))

    async with client.responses.stream(model="gpt-test", input="hi") as stream:
        deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        final = await stream.get_final_response()

    assert "".join(deltas) == "one two three"
    assert final.output_text == "one two three"


async def test_function_call_item_carries_arguments(
    client: openai.AsyncOpenAI, server: ResponsesServer
) -> None:
    args = json.dumps({"query": "favourite colour", "limit": 5})
    server.script(FunctionCall("search_memories", args, call_id="call_42"))

    events = await collect(client)

    streamed = "".join(
        e.delta for e in events if e.type == "response.function_call_arguments.delta"
    )
    assert streamed == args
    item = next(e.item for e in events if e.type == "response.output_item.done")
    assert item.type == "function_call"
    assert (item.name, item.call_id, item.arguments) == ("search_memories", "call_42", args)
    assert events[-1].type == "response.completed"
    assert events[-1].response.output[0].arguments == args


async def test_failed_yields_response_failed_event(
    client: openai.AsyncOpenAI, server: ResponsesServer
) -> None:
    server.script(Failed("model overloaded"))

    events = await collect(client)

    assert [e.type for e in events] == ["response.created", "response.failed"]
    failed = events[-1].response
    assert failed.status == "failed"
    assert (failed.error.code, failed.error.message) == ("server_error", "model overloaded")


async def test_error_event_is_yielded_not_raised(
    client: openai.AsyncOpenAI, server: ResponsesServer
) -> None:
    server.script(ErrorEvent("slow down"))

    events = await collect(client)

    assert [e.type for e in events] == ["response.created", "error"]
    error = events[-1]
    assert isinstance(error, openai.types.responses.ResponseErrorEvent)
    assert (error.code, error.message, error.param) == ("rate_limit_exceeded", "slow down", None)


@pytest.mark.parametrize(
    ("status", "exc"),
    [
        (401, openai.AuthenticationError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
    ],
)
async def test_http_errors_raise_status_exceptions(
    client: openai.AsyncOpenAI, server: ResponsesServer, status: int, exc: type[Exception]
) -> None:
    server.script(HTTPError(status, "nope"))

    with pytest.raises(exc) as info:
        await collect(client)

    assert info.value.status_code == status
    assert info.value.message.endswith("nope")


async def test_sdk_retry_consumes_next_behaviour_quickly(server: ResponsesServer) -> None:
    server.reset()
    server.script(HTTPError(429, "busy"), Text("after retry"))
    api = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=1)
    started = time.monotonic()

    events = await collect(api)
    await api.close()

    assert events[-1].response.output_text == "after retry"
    assert len(server.responses_bodies()) == 2
    assert time.monotonic() - started < 0.4


async def test_cut_raises_connection_error_after_partial_stream(
    client: openai.AsyncOpenAI, server: ResponsesServer
) -> None:
    server.script(Cut("never finished sentence", after_chunks=2))
    stream = await client.responses.create(model="gpt-test", input="hi", stream=True)
    seen: list[Any] = []

    with pytest.raises(openai.APIConnectionError):
        async for event in stream:
            seen.append(event)

    assert [e.delta for e in seen if e.type == "response.output_text.delta"] == [
        "never",
        " finished",
    ]
    assert "response.completed" not in [e.type for e in seen]


async def test_hang_times_out(server: ResponsesServer) -> None:
    server.reset()
    server.script(Hang(5))
    api = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0, timeout=0.3)

    with pytest.raises(openai.APITimeoutError):
        await collect(api)
    await api.close()


async def test_requests_are_recorded_and_reset(
    client: openai.AsyncOpenAI, server: ResponsesServer
) -> None:
    await collect(client, instructions="be brief", input="remember me")

    (record,) = server.requests
    assert record.method == "POST"
    assert record.path == "/v1/responses"
    assert record.headers["authorization"] == "Bearer test"
    body = server.responses_bodies()[0]
    assert body == {
        "model": "gpt-test",
        "input": "remember me",
        "instructions": "be brief",
        "stream": True,
    }

    server.script(Text("queued"))
    server.reset()
    assert server.requests == []
    events = await collect(client, input="fresh")
    assert events[-1].response.output_text == "You said: fresh"


async def test_chat_completions_return_scripted_json(
    client: openai.AsyncOpenAI, server: ResponsesServer
) -> None:
    server.script_chat('{"facts": ["likes tea"]}')
    messages = [{"role": "user", "content": "I like tea"}]

    scripted = await client.chat.completions.create(
        model="gpt-test", messages=messages, response_format={"type": "json_object"}
    )
    default = await client.chat.completions.create(model="gpt-test", messages=messages)

    assert json.loads(scripted.choices[0].message.content) == {"facts": ["likes tea"]}
    assert json.loads(default.choices[0].message.content) == {"memory": []}
    assert server.chat_bodies()[0]["response_format"] == {"type": "json_object"}
    assert server.responses_bodies() == []


async def test_delayed_chat_reply_arrives_after_its_delay(
    client: openai.AsyncOpenAI, server: ResponsesServer
) -> None:
    server.script_chat(Delayed('{"memory": []}', seconds=0.5))
    started = time.monotonic()

    reply = await client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}]
    )

    assert time.monotonic() - started >= 0.5
    assert reply.choices[0].message.content == '{"memory": []}'


async def test_unscripted_chat_replies_are_built_from_each_request(
    client: openai.AsyncOpenAI, server: ResponsesServer
) -> None:
    server.answer_chat_with(lambda body: json.dumps({"echo": body["messages"][-1]["content"]}))
    server.script_chat("scripted first")

    async def ask(text: str) -> str:
        messages = [{"role": "user", "content": text}]
        reply = await client.chat.completions.create(model="gpt-test", messages=messages)
        return reply.choices[0].message.content

    assert await ask("one") == "scripted first"
    assert await ask("two") == '{"echo": "two"}'
    server.reset()
    assert await ask("three") == '{"memory": []}'


async def test_many_concurrent_streams(client: openai.AsyncOpenAI, server: ResponsesServer) -> None:
    server.script(*[Text("a b c d", delay=0.01) for _ in range(50)])

    results = await asyncio.gather(*(collect(client, input=str(i)) for i in range(50)))

    assert all(events[-1].response.output_text == "a b c d" for events in results)
    assert len(server.responses_bodies()) == 50
