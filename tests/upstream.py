"""Scriptable local OpenAI Responses API (SSE) and Chat Completions server for tests."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "Behaviour",
    "ChatBehaviour",
    "Cut",
    "Delayed",
    "ErrorEvent",
    "Failed",
    "FunctionCall",
    "HTTPError",
    "Hang",
    "Malformed",
    "RecordedRequest",
    "ResponsesServer",
    "StreamError",
    "Text",
    "last_user_text",
]

DEFAULT_MODEL = "gpt-test"
DEFAULT_CHAT_CONTENT = '{"memory": []}'


@dataclass
class Text:
    """Stream a complete assistant message.

    ``chunks`` are the exact ``response.output_text.delta`` payloads (they must join to
    ``text``); by default the text is split into word-sized pieces. ``delay`` seconds are
    slept between consecutive deltas.
    """

    text: str
    chunks: list[str] | None = None
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.chunks is None:
            self.chunks = _split_words(self.text)
        elif "".join(self.chunks) != self.text:
            raise ValueError("Text.chunks must join to Text.text")


@dataclass
class FunctionCall:
    """Stream a single ``function_call`` output item, then ``response.completed``."""

    name: str
    arguments: str
    call_id: str = "call_1"


@dataclass
class Failed:
    """Emit ``response.created`` then ``response.failed`` (status "failed", error set).

    The SDK yields a ``ResponseFailedEvent``; it does not raise.
    """

    message: str
    code: str = "server_error"


@dataclass
class ErrorEvent:
    """Emit ``response.created`` then an SSE ``event: error`` frame, then end the stream.

    The payload is ``{"type": "error", "code", "message", "param", "sequence_number"}``
    with no nested ``"error"`` key, so the SDK does NOT raise: it yields a
    ``ResponseErrorEvent`` and the stream then ends without ``response.completed``.
    """

    message: str
    code: str = "rate_limit_exceeded"


@dataclass
class HTTPError:
    """Reply with a non-2xx status and an OpenAI-style JSON error body.

    The SDK raises the matching ``openai.APIStatusError`` subclass (401
    ``AuthenticationError``, 429 ``RateLimitError``, 500 ``InternalServerError``...).
    429 and 5xx are retried by the SDK, and each retry consumes the next scripted
    behaviour; ``retry-after``/``retry-after-ms`` headers keep those retries ~instant.
    """

    status: int
    message: str
    code: str | None = None


@dataclass
class Cut:
    """Start a normal text stream, send ``after_chunks`` deltas, then drop the connection.

    The body is chunked and the terminating chunk is never sent, so httpx sees an
    incomplete message and the SDK raises ``openai.APIConnectionError`` while iterating
    (after yielding every event that was sent). No ``response.completed`` is produced.
    """

    text: str
    after_chunks: int


@dataclass
class Malformed:
    """Start a normal text stream, send ``after_chunks`` deltas, then a ``data:`` line that is
    not JSON, then end the stream.

    The SDK's ``json.loads`` raises ``json.JSONDecodeError`` (not an ``openai.APIError``) while
    iterating, after yielding every event before it.
    """

    text: str
    after_chunks: int
    data: str = '{"type": "response.output_text.delta", "delta": '


@dataclass
class StreamError:
    """Start a normal text stream, send ``after_chunks`` deltas, then a data line carrying an
    ``"error"`` object, the way some servers report a failure mid-stream.

    The SDK raises ``openai.APIError`` whose message is the upstream's ``message``.
    """

    text: str
    after_chunks: int
    message: str
    code: str = "server_error"


@dataclass
class Hang:
    """Read the request, send nothing (not even headers) for ``seconds``, then close.

    A client whose timeout is shorter raises ``openai.APITimeoutError`` from
    ``responses.create`` (timeouts are retried, each retry consuming the next behaviour).
    If the client outwaits the hang, the connection closes with no response and the SDK
    raises ``openai.APIConnectionError``. ``stop()`` ends a pending hang immediately.
    """

    seconds: float


@dataclass
class Delayed:
    """Reply to a chat completion with ``content``, but only after ``seconds`` (a slow model).

    ``stop()`` ends the wait early and closes the connection with no response.
    """

    content: str
    seconds: float


Behaviour = (
    Text | FunctionCall | Failed | ErrorEvent | HTTPError | Cut | Malformed | StreamError | Hang
)
ChatBehaviour = str | HTTPError | Hang | Delayed


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request received by the server."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


_HTTP_ERROR_DEFAULTS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def _split_words(text: str) -> list[str]:
    # Leading-space pieces (" world") mimic how model tokens arrive.
    return re.findall(r"\s*\S+|\s+", text)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") in ("input_text", "text", "output_text")
        ]
        return "".join(parts)
    return ""


def last_user_text(body: Any) -> str:
    """Return the text of the last user message in a Responses or Chat request body."""
    if not isinstance(body, dict):
        return ""
    items = body.get("input", body.get("messages"))
    if isinstance(items, str):
        return items
    if isinstance(items, list):
        for item in reversed(items):
            if isinstance(item, dict) and item.get("role") == "user":
                return _content_text(item.get("content"))
    return ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops SYNs when benchmarks open ~200 connections at once.
    request_queue_size = 1024
    owner: ResponsesServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-stream is expected (cuts, timeouts, cancelled benchmarks).
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Each SSE frame is its own small write; Nagle would batch them and add latency.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.owner._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch(None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self._dispatch(body)

    def _dispatch(self, body: Any) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        owner._record(
            RecordedRequest(
                method=self.command,
                path=path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
        )
        try:
            if self.command == "POST" and path == "/v1/responses":
                owner._serve_responses(self, body if isinstance(body, dict) else {})
            elif self.command == "POST" and path == "/v1/chat/completions":
                owner._serve_chat(self, body if isinstance(body, dict) else {})
            else:
                self.send_json(404, _error_body(f"No route for {self.command} {path}", 404))
        except OSError:
            self.close_connection = True

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def send_event(self, payload: dict[str, Any]) -> None:
        frame = f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))

    def send_raw_data(self, data: str) -> None:
        frame = f"data: {data}\n\n".encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))

    def end_sse(self) -> None:
        self.wfile.write(b"0\r\n\r\n")


def _default_chat_reply(body: dict[str, Any]) -> ChatBehaviour:
    return DEFAULT_CHAT_CONTENT


def _error_body(message: str, status: int, code: str | None = None) -> dict[str, Any]:
    err_type, default_code = _HTTP_ERROR_DEFAULTS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {
        "error": {
            "message": message,
            "type": err_type,
            "param": None,
            "code": code if code is not None else default_code,
        }
    }


class _Stream:
    """Builds the events of one streamed response with consistent ids and sequence numbers."""

    def __init__(self, handler: _Handler, response_id: str, request: dict[str, Any]) -> None:
        self.handler = handler
        self.response_id = response_id
        self.request = request
        self.created_at = int(time.time())
        self.sequence = 0

    def emit(self, event_type: str, **fields: Any) -> None:
        self.handler.send_event({"type": event_type, "sequence_number": self.sequence, **fields})
        self.sequence += 1

    def response(self, status: str, output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        req = self.request
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "model": req.get("model") or DEFAULT_MODEL,
            "output": output,
            "error": None,
            "incomplete_details": None,
            "instructions": req.get("instructions"),
            "metadata": req.get("metadata") or {},
            "parallel_tool_calls": req.get("parallel_tool_calls", True),
            "previous_response_id": req.get("previous_response_id"),
            "temperature": req.get("temperature", 1.0),
            "top_p": req.get("top_p", 1.0),
            "max_output_tokens": req.get("max_output_tokens"),
            "tool_choice": req.get("tool_choice", "auto"),
            "tools": req.get("tools") or [],
            "text": {"format": {"type": "text"}},
            "truncation": "disabled",
            "usage": None,
            "user": None,
            **extra,
        }

    def usage(self, output_tokens: int) -> dict[str, Any]:
        input_tokens = max(1, len(json.dumps(self.request.get("input", ""))) // 4)
        return {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        }

    def start(self) -> None:
        self.handler.start_sse()
        self.emit("response.created", response=self.response("in_progress", []))

    def in_progress(self) -> None:
        self.emit("response.in_progress", response=self.response("in_progress", []))

    def completed(self, output: list[dict[str, Any]], output_tokens: int) -> None:
        self.emit(
            "response.completed",
            response=self.response(
                "completed",
                output,
                usage=self.usage(output_tokens),
                completed_at=int(time.time()),
            ),
        )


class ResponsesServer:
    """Threaded HTTP server on 127.0.0.1 that fakes ``/v1/responses`` and chat completions.

    Scripted behaviours are consumed one per ``/v1/responses`` call; with an empty queue
    the reply is ``Text("You said: <last user text>")``. Chat completions take their script
    the same way; unscripted, they reply with what ``answer_chat_with`` builds from the request
    (by default ``{"memory": []}``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[Behaviour] = deque()
        self._chat_script: deque[ChatBehaviour] = deque()
        self._chat_reply: Callable[[dict[str, Any]], ChatBehaviour] = _default_chat_reply
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._counter = 0
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ResponsesServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ResponsesServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="responses-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        # Wakes handlers sleeping in Hang/Text delays so they exit promptly.
        self._stopping.set()
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ResponsesServer is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next ``/v1/responses`` calls, in order."""
        for behaviour in behaviours:
            if not isinstance(behaviour, Behaviour):
                raise TypeError(f"Not a Responses behaviour: {behaviour!r}")
        with self._lock:
            self._script.extend(behaviours)

    def script_chat(self, *contents: ChatBehaviour) -> None:
        """Queue ``choices[0].message.content`` strings (or errors) for chat completions."""
        for content in contents:
            if not isinstance(content, ChatBehaviour):
                raise TypeError(f"Not a chat behaviour: {content!r}")
        with self._lock:
            self._chat_script.extend(contents)

    def answer_chat_with(self, reply: Callable[[dict[str, Any]], ChatBehaviour]) -> None:
        """Build the reply to every unscripted chat completion from its request body.

        For requests whose order is not known in advance (several workers at once): the reply
        can depend on what each request asks. It runs on the server's handler threads.
        """
        with self._lock:
            self._chat_reply = reply

    def reset(self) -> None:
        """Forget queued scripts, recorded requests and the chat reply builder."""
        with self._lock:
            self._script.clear()
            self._chat_script.clear()
            self._requests.clear()
            self._chat_reply = _default_chat_reply

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def responses_bodies(self) -> list[Any]:
        """JSON bodies of every ``POST /v1/responses`` received, oldest first."""
        return [r.body for r in self.requests if r.path == "/v1/responses"]

    def chat_bodies(self) -> list[Any]:
        """JSON bodies of every ``POST /v1/chat/completions`` received, oldest first."""
        return [r.body for r in self.requests if r.path == "/v1/chat/completions"]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _next_id(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def _next_behaviour(self, body: dict[str, Any]) -> Behaviour:
        with self._lock:
            if self._script:
                return self._script.popleft()
        return Text(f"You said: {last_user_text(body)}")

    def _serve_responses(self, handler: _Handler, body: dict[str, Any]) -> None:
        behaviour = self._next_behaviour(body)
        if isinstance(behaviour, HTTPError):
            self._send_http_error(handler, behaviour)
            return
        if isinstance(behaviour, Hang):
            self._stopping.wait(behaviour.seconds)
            handler.close_connection = True
            return

        n = self._next_id()
        stream = _Stream(handler, f"resp_{n}", body)
        stream.start()
        if isinstance(behaviour, Text):
            chunks = behaviour.chunks or []
            if not self._stream_text(stream, n, behaviour.text, chunks, behaviour.delay):
                # Server stopping mid-delay: drop the body like a dead upstream would.
                handler.close_connection = True
                return
        elif isinstance(behaviour, Cut):
            chunks = _split_words(behaviour.text)
            self._stream_text(stream, n, behaviour.text, chunks, 0.0, cut=behaviour.after_chunks)
            handler.close_connection = True
            return
        elif isinstance(behaviour, Malformed | StreamError):
            chunks = _split_words(behaviour.text)
            self._stream_text(stream, n, behaviour.text, chunks, 0.0, cut=behaviour.after_chunks)
            if isinstance(behaviour, Malformed):
                handler.send_raw_data(behaviour.data)
            else:
                error = {"message": behaviour.message, "type": "server_error"}
                handler.send_raw_data(json.dumps({"error": {**error, "code": behaviour.code}}))
        elif isinstance(behaviour, FunctionCall):
            self._stream_function_call(stream, n, behaviour)
        elif isinstance(behaviour, Failed):
            error = {"code": behaviour.code, "message": behaviour.message}
            stream.emit("response.failed", response=stream.response("failed", [], error=error))
        else:
            stream.emit("error", code=behaviour.code, message=behaviour.message, param=None)
        handler.end_sse()

    def _stream_text(
        self,
        stream: _Stream,
        n: int,
        text: str,
        chunks: list[str],
        delay: float,
        cut: int | None = None,
    ) -> bool:
        item_id = f"msg_{n}"
        loc = {"item_id": item_id, "output_index": 0, "content_index": 0}
        stream.in_progress()
        item = {
            "id": item_id,
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        stream.emit("response.output_item.added", output_index=0, item=item)
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        stream.emit("response.content_part.added", part=part, **loc)
        for i, delta in enumerate(chunks):
            if cut is not None and i >= cut:
                return False
            if delay and i and self._stopping.wait(delay):
                return False
            stream.emit("response.output_text.delta", delta=delta, logprobs=[], **loc)
        if cut is not None:
            return False
        stream.emit("response.output_text.done", text=text, logprobs=[], **loc)
        part = {**part, "text": text}
        stream.emit("response.content_part.done", part=part, **loc)
        item = {**item, "status": "completed", "content": [part]}
        stream.emit("response.output_item.done", output_index=0, item=item)
        stream.completed([item], output_tokens=max(1, len(chunks)))
        return True

    def _stream_function_call(self, stream: _Stream, n: int, call: FunctionCall) -> None:
        item_id = f"fc_{n}"
        stream.in_progress()
        item = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": "",
        }
        stream.emit("response.output_item.added", output_index=0, item=item)
        # Several deltas so consumers must concatenate, as with the real API.
        args = call.arguments
        for start in range(0, len(args), 16):
            stream.emit(
                "response.function_call_arguments.delta",
                item_id=item_id,
                output_index=0,
                delta=args[start : start + 16],
            )
        stream.emit(
            "response.function_call_arguments.done",
            item_id=item_id,
            output_index=0,
            arguments=args,
        )
        item = {**item, "status": "completed", "arguments": args}
        stream.emit("response.output_item.done", output_index=0, item=item)
        stream.completed([item], output_tokens=max(1, len(args) // 4))

    def _send_http_error(self, handler: _Handler, error: HTTPError) -> None:
        headers: dict[str, str] = {}
        if error.status == 429 or error.status >= 500:
            # SDK prefers retry-after-ms; 0 is ignored (falls back to backoff), 1ms is not.
            headers = {"retry-after": "0", "retry-after-ms": "1"}
        handler.send_json(
            error.status, _error_body(error.message, error.status, error.code), headers
        )

    def _serve_chat(self, handler: _Handler, body: dict[str, Any]) -> None:
        if body.get("stream"):
            handler.send_json(400, _error_body("stream=True is not supported by the fake", 400))
            return
        with self._lock:
            scripted = self._chat_script.popleft() if self._chat_script else None
            reply = self._chat_reply
        behaviour = reply(body) if scripted is None else scripted
        if isinstance(behaviour, HTTPError):
            self._send_http_error(handler, behaviour)
            return
        if isinstance(behaviour, Hang):
            self._stopping.wait(behaviour.seconds)
            handler.close_connection = True
            return
        if isinstance(behaviour, Delayed):
            if self._stopping.wait(behaviour.seconds):
                handler.close_connection = True
                return
            behaviour = behaviour.content
        n = self._next_id()
        prompt_tokens = max(1, len(json.dumps(body.get("messages", ""))) // 4)
        completion_tokens = max(1, len(behaviour) // 4)
        handler.send_json(
            200,
            {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model") or DEFAULT_MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": behaviour,
                            "refusal": None,
                            "annotations": [],
                        },
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )
