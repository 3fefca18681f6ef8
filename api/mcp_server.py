"""The MCP server at /mcp (official `mcp` SDK, Streamable HTTP), mounted beside Django in the ASGI
app: four memory tools, behind the same access tokens, scopes and limits as the REST API."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.http import Http404
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field

from api import access, limits
from api.schemas import SCOPE_PATTERN
from memories import services, tokens
from memories.models import AccessToken, Memory, MemoryKind

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]
MCP_PATH = "/mcp"
TOKEN_KEY = "recall.access_token"

Scope = Annotated[
    str, Field(pattern=SCOPE_PATTERN, description='"person", "project:<id>", or "" for all allowed')
]

server = MCPServer(
    name="recall",
    instructions="Long-term memory about the user. Search it before answering; add durable facts "
    "the user tells you; delete what they ask you to forget.",
)


def _token(ctx: Context) -> AccessToken:
    return ctx.request_context.request.scope[TOKEN_KEY]


def _memory_out(memory: Memory, score: float | None = None) -> dict[str, Any]:
    out = {
        "id": str(memory.pk),
        "text": memory.text,
        "kind": memory.kind,
        "tags": memory.tags,
        "scope": tokens.scope_name(memory.project_id),
    }
    if score is not None:
        out["score"] = round(score, 4)
    return out


def _in_thread(operation: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    # Tool calls share no state but the thread-safe search index: a pool thread each, rather than
    # Django's one shared thread, lets concurrent clients search at once. Closes stale connections.
    return DatabaseSyncToAsync(operation, thread_sensitive=False)


async def _run(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a token operation off the event loop; our domain errors become the tool's error text."""
    try:
        return await _in_thread(operation)(*args, **kwargs)
    except access.ReadOnlyToken as error:
        raise ToolError(str(error)) from None
    except (Http404, tokens.ScopeNotAllowed):
        raise ToolError("Not found.") from None
    except services.InvalidMemory as error:
        raise ToolError(str(error)) from None


@server.tool()
async def add_memory(
    ctx: Context,
    text: Annotated[str, Field(min_length=1, max_length=services.MAX_MEMORY_CHARS)],
    kind: MemoryKind = MemoryKind.OTHER,
    tags: Annotated[list[Annotated[str, Field(max_length=60)]], Field(max_length=20)] = [],  # noqa: B006
    scope: Scope = "",
) -> dict[str, Any]:
    """Remember a fact about the user. A fact already known is confirmed, not duplicated."""
    result = await _run(
        access.add_memory,
        _token(ctx),
        text,
        endpoint="mcp:add_memory",
        kind=kind,
        tags=tags,
        scope=scope,
    )
    return {"memory": _memory_out(result.memory), "created": result.created}


@server.tool()
async def search_memories(
    ctx: Context,
    query: Annotated[str, Field(min_length=1, max_length=1000)],
    limit: Annotated[int, Field(ge=1, le=50)] = 10,
    scope: Scope = "",
) -> dict[str, Any]:
    """Memories that best match the query, in meaning or words, best first."""
    search = access.SearchQuery(query=query, limit=limit, scope=scope)
    found = await _run(access.search_memories, _token(ctx), search, endpoint="mcp:search_memories")
    return {"results": [_memory_out(item.memory, item.score) for item in found]}


@server.tool()
async def list_memories(
    ctx: Context,
    limit: Annotated[int, Field(ge=1, le=100)] = 20,
    offset: Annotated[int, Field(ge=0)] = 0,
    scope: Scope = "",
) -> dict[str, Any]:
    """The user's memories, newest first, a page at a time."""
    token = _token(ctx)

    def page() -> dict[str, Any]:
        memories = access.list_memories(token, scope=scope)
        items = list(memories[offset : offset + limit])
        access.record_page(token, items, endpoint="mcp:list_memories")
        count = memories.count()
        return {
            "items": [_memory_out(m) for m in items],
            "count": count,
            "next_offset": offset + limit if offset + limit < count else None,
        }

    return await _run(page)


@server.tool()
async def delete_memory(ctx: Context, memory_id: str) -> dict[str, Any]:
    """Forget one memory by its id (it can be undone from the dashboard for a few days)."""
    memory = await _run(access.delete_memory, _token(ctx), memory_id, endpoint="mcp:delete_memory")
    return {"deleted": str(memory.pk)}


async def _send_json(send: Callable, status: int, body: dict, headers: list | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


def _authenticate(secret: str) -> AccessToken:
    token = tokens.authenticate(secret)
    limits.check_rate(token)
    return token


class McpEndpoint:
    """/mcp behind the access token check. The SDK's session manager needs a running task
    group, which Daphne (no ASGI lifespan) never starts: the first request starts it."""

    def __init__(self) -> None:
        self.app = server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            # No session state between requests: any worker can answer any call.
            stateless_http=True,
            json_response=True,
            max_request_body_size=settings.API_MAX_BODY_BYTES,
            # Host checks guard unauthenticated local servers against DNS rebinding; every call
            # here carries a bearer token, which a rebound page cannot send.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self._running: asyncio.Event | None = None
        self._manager_task: asyncio.Task | None = None

    async def _start_manager(self) -> None:
        if self._running is None:
            self._running = asyncio.Event()
            self._manager_task = asyncio.create_task(self._run_manager(self._running))
        await self._running.wait()

    async def _run_manager(self, running: asyncio.Event) -> None:
        async with server.session_manager.run():
            running.set()
            await asyncio.Event().wait()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        headers = dict(scope.get("headers", []))
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, secret = authorization.partition(" ")
        try:
            limits.check_body_size(headers.get(b"content-length", b"").decode("latin-1"))
            if scheme.lower() != "bearer":
                raise tokens.TokenRefused
            token = await _in_thread(_authenticate)(secret.strip())
        except limits.BodyTooLarge as error:
            return await _send_json(send, 400, {"detail": str(error), "field": "body"})
        except tokens.TokenRefused:
            detail = {"detail": "A valid access token is needed (Authorization: Bearer …)."}
            return await _send_json(send, 401, detail, [(b"www-authenticate", b"Bearer")])
        except limits.RateLimited as error:
            retry = [(b"retry-after", str(error.retry_after).encode())]
            return await _send_json(send, 429, {"detail": str(error)}, retry)
        await self._start_manager()
        await self.app({**scope, TOKEN_KEY: token}, receive, send)


def with_mcp(django_app: ASGIApp) -> ASGIApp:
    """The HTTP app: /mcp to the MCP server, everything else to Django."""
    mcp_endpoint = McpEndpoint()

    async def route(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["path"] == MCP_PATH or scope["path"].startswith(MCP_PATH + "/"):
            await mcp_endpoint(scope, receive, send)
        else:
            await django_app(scope, receive, send)

    return route
