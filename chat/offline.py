"""The built-in offline demo model: a deterministic Responses API server inside an HTTP transport.

It answers without any network or weights, but through the real SDK and the same server-sent
events as an upstream server, so streaming, memory injection and memory extraction all run.
"""

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator
from itertools import count
from typing import Any

import httpx2
from django.conf import settings

from config import upstream

MEMORY_BLOCK = re.compile(
    r"<(?:user_memories|project_state)>(.*?)</(?:user_memories|project_state)>", re.DOTALL
)
# Asked for this phrase, the demo answers in Markdown, to show how answers render.
MARKDOWN_DEMO_PHRASE = "markdown demo"
MARKDOWN_DEMO = """## Markdown demo

Answers render **Markdown**: *emphasis*, `inline code` and [links](https://example.com/).

| Drink | Caffeine (mg) |
|:------|--------------:|
| Green tea | 30 |
| Coffee | 95 |

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

1. Lists
2. and quotes:

> Nothing here runs as code.
"""
_response_numbers = count(1)


class OfflineModelTransport(httpx2.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if not request.url.path.endswith("/responses"):
            return httpx2.Response(404, json={"error": {"message": "offline model: no such path"}})
        body = json.loads(await request.aread())
        reply = compose_reply(body.get("input") or [])
        return httpx2.Response(
            200,
            headers={"content-type": "text/event-stream"},
            stream=_SSEStream(_reply_events(reply, body.get("model", upstream.OFFLINE_MODEL_NAME))),
        )


class _SSEStream(httpx2.AsyncByteStream):
    def __init__(self, events: AsyncIterator[bytes]) -> None:
        self._events = events

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._events:
            yield chunk


def compose_reply(input_items: list[dict[str, Any]]) -> str:
    """The deterministic answer to a conversation: it repeats the turn and what memory supplied."""
    user_text = ""
    remembered: list[str] = []
    for item in input_items:
        content = _text_of(item)
        if item.get("role") == "user":
            user_text = content
        elif item.get("role") == "developer":
            for block in MEMORY_BLOCK.findall(content):
                # The memory layer writes each memory's brackets as entities (memories.recall).
                remembered.extend(
                    html.unescape(line[2:].strip())
                    for line in block.splitlines()
                    if line.startswith("- ")
                )
    if MARKDOWN_DEMO_PHRASE in user_text.lower():
        return MARKDOWN_DEMO
    parts = [f"(Offline demo model.) You said: “{_shorten(user_text)}”."]
    if remembered:
        parts.append("From memory I know:")
        parts.extend(f"• {fact}" for fact in remembered)
    else:
        parts.append("I have no memories that seem relevant to this yet.")
    parts.append(
        "Set OPENAI_API_KEY or OPENAI_BASE_URL to talk to a real model; "
        "memory works the same either way."
    )
    return "\n".join(parts)


def _text_of(item: dict[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


async def _reply_events(reply: str, model: str) -> AsyncIterator[bytes]:
    response_id = f"resp_offline_{next(_response_numbers)}"
    item_id = f"msg_offline_{response_id}"
    sequence = count()
    base = {
        "id": response_id,
        "object": "response",
        "created_at": 0,
        "model": model,
        "output": [],
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "tools": [],
    }
    yield _sse(
        {
            "type": "response.created",
            "sequence_number": next(sequence),
            "response": {**base, "status": "in_progress"},
        }
    )
    yield _sse(
        {
            "type": "response.output_item.added",
            "sequence_number": next(sequence),
            "output_index": 0,
            "item": {
                "id": item_id,
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            },
        }
    )
    delay = settings.OFFLINE_MODEL_TOKEN_DELAY_SECONDS
    for token in re.findall(r"\S+\s*|\s+", reply):
        if delay:
            await asyncio.sleep(delay)
        yield _sse(
            {
                "type": "response.output_text.delta",
                "sequence_number": next(sequence),
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "delta": token,
                "logprobs": [],
            }
        )
    message = {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": reply, "annotations": []}],
    }
    yield _sse(
        {
            "type": "response.output_item.done",
            "sequence_number": next(sequence),
            "output_index": 0,
            "item": message,
        }
    )
    words = len(reply.split())
    yield _sse(
        {
            "type": "response.completed",
            "sequence_number": next(sequence),
            "response": {
                **base,
                "status": "completed",
                "output": [message],
                "usage": {
                    "input_tokens": 0,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": words,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": words,
                },
            },
        }
    )
