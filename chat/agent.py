"""The model layer: stream one reply from a Responses-compatible server, running its tools."""

import asyncio
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai
from django.conf import settings
from openai import AsyncOpenAI

from chat.offline import OfflineModelTransport
from chat.tools import Tool
from config import upstream

logger = logging.getLogger(__name__)

BROKEN_STREAM = "The connection to the model server broke while it was answering."
UNREADABLE_STREAM = "The model server sent an answer we could not read."
UPSTREAM_ERROR = "The model server reported an error while answering."


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCalled:
    name: str
    arguments: dict[str, Any]
    output: str
    reusable: bool = False
    duration_ms: float = 0.0
    # Our tools and the runner report failures as a JSON object with an "error" key.
    failed: bool = False


@dataclass(frozen=True)
class ReplyDone:
    response_id: str
    input_tokens: int | None
    output_tokens: int | None


@dataclass(frozen=True)
class ReplyFailed:
    """The reply could not be finished; `message` is meant for the person in the chat."""

    message: str


ReplyEvent = TextDelta | ToolCalled | ReplyDone | ReplyFailed


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)


def make_client() -> AsyncOpenAI:
    """The client for the configured upstream, one per event loop so connections are reused."""
    config = (
        settings.OPENAI_API_KEY,
        settings.OPENAI_BASE_URL,
        settings.OPENAI_TIMEOUT_SECONDS,
    )
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    if config not in per_loop:
        per_loop[config] = _new_client()
    return per_loop[config]


async def close_clients() -> None:
    """Close this event loop's clients and their connections, as before the loop closes."""
    for client in _clients.pop(asyncio.get_running_loop(), {}).values():
        await client.close()


def _new_client() -> AsyncOpenAI:
    """A client for the configured upstream, or for the built-in offline model.

    The offline model sits behind an HTTP transport that speaks the same server-sent events,
    so both go through exactly the same SDK and code path.
    """
    if upstream.uses_offline_model():
        return AsyncOpenAI(
            api_key="offline",
            base_url="http://offline-model.invalid/v1",
            http_client=httpx2.AsyncClient(transport=OfflineModelTransport()),
            max_retries=0,
        )
    return AsyncOpenAI(
        # Self-hosted servers often need no key, but the SDK insists on one.
        api_key=settings.OPENAI_API_KEY or "not-needed",
        base_url=settings.OPENAI_BASE_URL or None,
        timeout=settings.OPENAI_TIMEOUT_SECONDS,
        max_retries=1,
        # The SDK's aiohttp transport: through its default one (httpx on anyio) an answer's
        # stream took 1.7 times the CPU (12 against 7 ms, 10 answers at once), pausing and
        # resuming the socket for every chunk and checking a pooled connection before reuse.
        http_client=openai.DefaultAioHttpClient(),
    )


@dataclass
class _Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None

    def add(self, usage: "_Usage | None") -> None:
        if usage is None:
            return
        self.input_tokens = (self.input_tokens or 0) + (usage.input_tokens or 0)
        self.output_tokens = (self.output_tokens or 0) + (usage.output_tokens or 0)


@dataclass(frozen=True)
class _FunctionCall:
    call_id: str
    name: str
    arguments: str | None


@dataclass
class _Round:
    """What one upstream response produced."""

    started: bool = False
    function_calls: list[_FunctionCall] = field(default_factory=list)
    # The completed response's id and its token counts (None if it gave none).
    completed_id: str | None = None
    usage: _Usage | None = None
    failure: str | None = None


async def stream_reply(
    *,
    instructions: str,
    input_items: list[dict[str, Any]],
    tools: Sequence[Tool] = (),
    client: AsyncOpenAI | None = None,
) -> AsyncIterator[ReplyEvent]:
    """Yield the reply's text as it arrives, then exactly one ReplyDone or ReplyFailed."""
    client = client or make_client()
    items = list(input_items)
    tools_by_name = {tool.name: tool for tool in tools}
    usage = _Usage()
    for _ in range(settings.CHAT_TOOL_ROUNDS + 1):
        current = _Round()
        try:
            async for event in _response_events(client, instructions, items, tools):
                current.started = True
                if event.get("type") == "response.output_text.delta":
                    yield TextDelta(_text(event["delta"]))
                else:
                    _record_event(event, current)
        except openai.APIError as error:
            log_upstream_error(error)
            if current.started and isinstance(error, openai.APIConnectionError):
                yield ReplyFailed(BROKEN_STREAM)
            else:
                yield ReplyFailed(describe_upstream_error(error))
            return
        except Exception as error:
            # Whatever else the SDK raises on a malformed stream (invalid JSON in a data line
            # is a JSONDecodeError, not an APIError), the user must still be told. Only the
            # exception's class is logged: its text may quote the stream.
            logger.warning("The model server's stream could not be read (%s)", type(error).__name__)
            yield ReplyFailed(UNREADABLE_STREAM)
            return

        if current.failure is not None:
            yield ReplyFailed(current.failure)
            return
        if current.completed_id is None:
            yield ReplyFailed(BROKEN_STREAM)
            return
        usage.add(current.usage)
        if not current.function_calls:
            yield ReplyDone(current.completed_id, usage.input_tokens, usage.output_tokens)
            return
        for call in current.function_calls:
            called = await call_tool(call.name, call.arguments, tools_by_name)
            yield called
            items.append(
                {
                    "type": "function_call",
                    "call_id": call.call_id,
                    "name": call.name,
                    "arguments": call.arguments,
                }
            )
            items.append(
                {"type": "function_call_output", "call_id": call.call_id, "output": called.output}
            )
    yield ReplyFailed("The model kept calling tools without answering; stopped.")


async def _response_events(
    client: AsyncOpenAI,
    instructions: str,
    items: list[dict[str, Any]],
    tools: Sequence[Tool],
) -> AsyncIterator[dict[str, Any]]:
    """The Responses API's stream events, as the JSON objects it documents."""
    body: dict[str, Any] = {
        "model": upstream.model_name(),
        "instructions": instructions,
        "input": items,
        "stream": True,
        "store": False,
    }
    if tools:
        body["tools"] = [tool.as_responses_tool() for tool in tools]
    # The SDK's own request for any endpoint, not `responses.create`: the same request, key,
    # retries, errors and server-sent-event reading, without a typed model built of every event,
    # which was two thirds of the SDK's CPU an answer (bench/turn_floor.py) on the event loop
    # every socket of the process waits for. Our request is plain JSON already.
    stream = await client.post(
        "/responses",
        body=body,
        options={"security": {"bearer_auth": True}},
        cast_to=object,
        stream=True,
        stream_cls=openai.AsyncStream[object],
    )
    async with stream:
        async for event in stream:
            yield event


INCOMPLETE_REASONS = {
    "max_output_tokens": "The model stopped before finishing: it reached its length limit.",
    "content_filter": "The model stopped before finishing: its content filter stopped it.",
}


def _record_event(event: dict[str, Any], current: _Round) -> None:
    """Note what `event` tells of the response; KeyError, TypeError or AttributeError where it
    lacks a field we need or has one of another type, as a hostile server's may."""
    kind = event.get("type")
    if kind == "response.output_item.done" and event["item"].get("type") == "function_call":
        item = event["item"]
        arguments = item.get("arguments")
        current.function_calls.append(
            _FunctionCall(
                _text(item["call_id"]),
                _text(item["name"]),
                None if arguments is None else _text(arguments),
            )
        )
    elif kind == "response.completed":
        response = event["response"]
        usage = response.get("usage")
        if usage is not None:
            current.usage = _Usage(
                _count(usage.get("input_tokens")), _count(usage.get("output_tokens"))
            )
        current.completed_id = _text(response["id"])
    elif kind == "response.failed":
        error = event["response"].get("error") or {}
        logger.warning("The model failed to answer (code %s)", _loggable(error.get("code")))
        current.failure = "The model failed to answer."
    elif kind == "response.incomplete":
        reason = (event["response"].get("incomplete_details") or {}).get("reason")
        logger.warning("The model stopped before finishing (reason %s)", _loggable(reason))
        current.failure = INCOMPLETE_REASONS.get(reason, "The model stopped before finishing.")
    elif kind == "error":
        logger.warning("The model server reported an error (code %s)", _loggable(event.get("code")))
        current.failure = UPSTREAM_ERROR


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _count(value: object) -> int | None:
    if value is not None and type(value) is not int:
        raise TypeError
    return value


async def call_tool(
    name: str, raw_arguments: str | None, tools_by_name: dict[str, Tool]
) -> ToolCalled:
    """Run a function call the model asked for (Responses or Realtime); a failure is reported
    to the model as a JSON object with an "error" key."""
    started = time.perf_counter()
    arguments, output = await _run_tool_call(name, raw_arguments, tools_by_name)
    tool = tools_by_name.get(name)
    return ToolCalled(
        name,
        arguments,
        output,
        reusable=tool is not None and tool.reusable,
        duration_ms=(time.perf_counter() - started) * 1000,
        failed=_reports_error(output),
    )


async def _run_tool_call(
    name: str, raw_arguments: str | None, tools_by_name: dict[str, Tool]
) -> tuple[dict[str, Any], str]:
    tool = tools_by_name.get(name)
    if tool is None:
        return {}, json.dumps({"error": f"unknown tool {name!r}"})
    try:
        arguments = json.loads(raw_arguments or "{}")
    except json.JSONDecodeError:
        return {}, json.dumps({"error": "arguments were not valid JSON"})
    if not isinstance(arguments, dict):
        return {}, json.dumps({"error": "arguments must be a JSON object"})
    try:
        return arguments, await tool.run(arguments)
    except Exception:
        # The model gets a plain failure to reason about; the traceback stays in our logs.
        logger.exception("tool %s failed", name)
        return arguments, json.dumps({"error": f"tool {name} failed"})


def _reports_error(output: str) -> bool:
    try:
        parsed = json.loads(output)
    except json.JSONDecodeError:
        return False
    return isinstance(parsed, dict) and "error" in parsed


def describe_upstream_error(error: Exception) -> str:
    """A message of ours for the chat. The upstream's own text never goes into it: an error
    body can carry anything, a key or the user's words included."""
    if isinstance(error, openai.AuthenticationError):
        return "The model server rejected our credentials (401). Check OPENAI_API_KEY."
    if isinstance(error, openai.PermissionDeniedError):
        return "The model server refused access to this model (403)."
    if isinstance(error, openai.NotFoundError):
        return "The model server does not know this model or endpoint (404). Check OPENAI_MODEL."
    if isinstance(error, openai.RateLimitError):
        return "The model server is rate limiting us (429). Please try again in a moment."
    if isinstance(error, openai.BadRequestError):
        if error.code == "context_length_exceeded":
            return "The conversation is too long for the model (400). Start a new chat."
        return "The model server rejected the request (400)."
    if isinstance(error, openai.InternalServerError):
        return f"The model server had an internal error ({error.status_code}). Please try again."
    if isinstance(error, openai.APIStatusError):
        return f"The model server answered with HTTP {error.status_code}."
    if isinstance(error, openai.APITimeoutError):
        return "The model server took too long to answer."
    if isinstance(error, openai.APIConnectionError):
        return "Could not reach the model server."
    if isinstance(error, openai.APIError):
        return UPSTREAM_ERROR
    return BROKEN_STREAM


def log_upstream_error(error: openai.APIError) -> None:
    """Log what an operator needs to look the failure up (status, type, code, request id),
    never the upstream's message, which may quote a key or the user's text."""
    status = error.status_code if isinstance(error, openai.APIStatusError) else None
    request_id = error.request_id if isinstance(error, openai.APIStatusError) else None
    logger.warning(
        "Model server error %s: status %s, type %s, code %s, request id %s",
        type(error).__name__,
        status,
        _loggable(error.type),
        _loggable(error.code),
        _loggable(request_id),
    )


def _loggable(identifier: object) -> str | None:
    """An upstream identifier (an error code, a request id) cut short: they are meant to be
    short words, and a hostile server could put anything in them."""
    return None if identifier is None else str(identifier)[:64]
