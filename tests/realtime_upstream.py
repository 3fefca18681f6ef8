"""A scriptable, Realtime-compatible websocket server on 127.0.0.1, for the openai SDK's client.

Each scripted step waits until it has "heard" half a second of input audio after the previous
step's answer began, then plays its part of the Realtime protocol: speech started and
stopped, the transcript, then (after an optional function call and its output) the spoken
answer as transcript and audio deltas. As the real API transcribes on the side, a step can
instead send the transcript after the whole answer, report that transcription failed, or never
send it. Each audio delta starts with the server's
time.perf_counter() as a double, so a benchmark in the same process can time a delta's way to
the browser.
"""

from __future__ import annotations

import base64
import itertools
import json
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from websockets.sync.server import Server, ServerConnection, serve

SAMPLE_RATE = 24_000
HEARD_SECONDS = 0.5
HEARD_BYTES = int(SAMPLE_RATE * 2 * HEARD_SECONDS)


@dataclass
class Say:
    """The user said `transcript`; the model answers `answer`, a word per `seconds_per_word`.

    The answer's deltas go out at once, or `delta_interval` seconds apart (like a model that
    speaks as it generates). `transcription`: the transcript comes "before" the answer, "after"
    it (after its response.done), "failed" (a transcription failed event after the answer), or
    "never".
    """

    transcript: str
    answer: str
    call: tuple[str, dict[str, Any]] | None = None
    seconds_per_word: float = 0.25
    delta_interval: float = 0.0
    transcription: Literal["before", "after", "failed", "never"] = "before"


@dataclass
class Fail:
    """After the transcript, an `error` event."""

    transcript: str
    message: str


@dataclass
class Drop:
    """After the transcript (and our session update) and the answer's first word, the socket
    closes."""

    transcript: str
    answer: str


Step = Say | Fail | Drop


def _stamped_audio(samples: int) -> bytes:
    stamp = struct.pack("<d", time.perf_counter())
    return stamp + b"\x10\x00" * (samples - len(stamp) // 2)


class RealtimeServer:
    def __init__(self) -> None:
        self._server: Server | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.steps: deque[Step] = deque()
            self.received: list[dict[str, Any]] = []
            self.refuse_with: int | None = None

    def script(self, *steps: Step) -> None:
        self.steps.extend(steps)

    def events(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [event for event in self.received if event["type"] == kind]

    @property
    def base_url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/v1"

    def __enter__(self) -> RealtimeServer:
        self._server = serve(self._handle, "127.0.0.1", 0, process_request=self._admit)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()

    def _admit(self, connection: ServerConnection, request: Any) -> Any:
        if self.refuse_with is not None:
            return connection.respond(self.refuse_with, "Incorrect API key provided.\n")
        return None

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    def _handle(self, socket: ServerConnection) -> None:
        self._send(socket, "session.created", session={"id": self._id("sess"), "type": "realtime"})
        heard = 0
        answered_at = 0.0
        pending: tuple[Say, str] | None = None
        for raw in socket:
            event = json.loads(raw)
            with self._lock:
                self.received.append(event)
            if event["type"] == "input_audio_buffer.append":
                heard += len(base64.b64decode(event["audio"]))
                # Audio that waited in the socket while a function ran was said before the
                # answer: the next step is heard half a second of real time after it began.
                answering = pending is not None or time.monotonic() - answered_at < HEARD_SECONDS
                if heard >= HEARD_BYTES and self.steps and not answering:
                    heard = 0
                    pending = self._play(socket, self.steps.popleft())
                    answered_at = time.monotonic()
            elif event["type"] == "response.create" and pending is not None:
                self._speak(socket, *pending)
                heard, pending, answered_at = 0, None, time.monotonic()

    def _play(self, socket: ServerConnection, step: Step) -> tuple[Say, str] | None:
        """Play a step up to the answer; the Say (and the user's item) whose answer waits for a
        function's output."""
        item = self._id("item")
        self._send(socket, "input_audio_buffer.speech_started", item_id=item, audio_start_ms=0)
        self._send(socket, "input_audio_buffer.speech_stopped", item_id=item, audio_end_ms=500)
        if not isinstance(step, Say) or step.transcription == "before":
            self._transcribe(socket, item, step.transcript)
        if isinstance(step, Fail):
            self._send(
                socket, "error", error={"type": "invalid_request_error", "message": step.message}
            )
            return None
        if isinstance(step, Drop):
            self._wait_for(socket, "session.update")
            response = self._id("resp")
            self._send(
                socket, "response.created", response={"id": response, "status": "in_progress"}
            )
            self._send(
                socket,
                "response.output_audio_transcript.delta",
                response_id=response,
                item_id=self._id("item"),
                output_index=0,
                content_index=0,
                delta=step.answer.split()[0],
            )
            socket.close()
            return None
        if step.call is None:
            self._speak(socket, step, item)
            return None
        name, arguments = step.call
        response, call_item, call_id = self._id("resp"), self._id("item"), self._id("call")
        self._send(socket, "response.created", response={"id": response, "status": "in_progress"})
        self._send(
            socket,
            "response.function_call_arguments.done",
            response_id=response,
            item_id=call_item,
            output_index=0,
            call_id=call_id,
            name=name,
            arguments=json.dumps(arguments),
        )
        call = {
            "id": call_item,
            "call_id": call_id,
            "name": name,
            "arguments": json.dumps(arguments),
        }
        self._done(socket, response, {"type": "function_call", **call})
        return step, item

    def _transcribe(self, socket: ServerConnection, item: str, transcript: str) -> None:
        self._send(
            socket,
            "conversation.item.input_audio_transcription.completed",
            item_id=item,
            content_index=0,
            transcript=transcript,
            usage={"type": "duration", "seconds": 0.5},
        )

    def _speak(self, socket: ServerConnection, step: Say, heard_item: str) -> None:
        response, item = self._id("resp"), self._id("item")
        self._send(socket, "response.created", response={"id": response, "status": "in_progress"})
        word_samples = int(SAMPLE_RATE * step.seconds_per_word)
        where = {"response_id": response, "item_id": item, "output_index": 0, "content_index": 0}
        for number, word in enumerate(step.answer.split()):
            if number and step.delta_interval:
                time.sleep(step.delta_interval)
            text = word if number == 0 else " " + word
            self._send(socket, "response.output_audio_transcript.delta", delta=text, **where)
            self._send(
                socket,
                "response.output_audio.delta",
                delta=base64.b64encode(_stamped_audio(word_samples)).decode(),
                **where,
            )
        self._done(socket, response, {"type": "message", "id": item, "role": "assistant"})
        if step.transcription == "after":
            self._transcribe(socket, heard_item, step.transcript)
        elif step.transcription == "failed":
            self._send(
                socket,
                "conversation.item.input_audio_transcription.failed",
                item_id=heard_item,
                content_index=0,
                error={"type": "transcription_error", "message": "Audio too noisy."},
            )

    def _done(self, socket: ServerConnection, response: str, output: dict[str, Any]) -> None:
        self._send(
            socket,
            "response.done",
            response={"id": response, "status": "completed", "output": [output]},
        )

    def _wait_for(self, socket: ServerConnection, kind: str) -> None:
        while True:
            event = json.loads(socket.recv())
            with self._lock:
                self.received.append(event)
            if event["type"] == kind:
                return

    def _send(self, socket: ServerConnection, kind: str, **fields: Any) -> None:
        socket.send(json.dumps({"type": kind, "event_id": self._id("event"), **fields}))
