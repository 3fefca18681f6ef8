"""Refuse a request body over settings.REQUEST_MAX_BYTES before Django reads it.

Django's ASGI handler reads a whole body into a temporary file before any view or middleware
runs, so a size check there comes after a 300 MB upload was received. This wrapper answers 413
from the Content-Length alone, or, for a body sent without one, as soon as it passes the limit.
"""

from typing import Any

from django.conf import settings

Scope = dict[str, Any]
Message = dict[str, Any]


class RequestSizeLimit:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.REQUEST_MAX_BYTES
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        received = 0
        refused = False

        async def receive_within_limit() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django then sees the client gone, and answers nothing of its own.
                    refused = True
                    await _refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, receive_within_limit, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Any, limit: int) -> None:
    body = (
        f"This upload is larger than the {limit // (1024 * 1024)} MB limit, "
        "so it was not read and nothing was stored.\n"
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
