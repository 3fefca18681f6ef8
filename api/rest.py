"""The memory REST API under /api/v1/ (django-ninja): thin views over api.access, JSON errors."""

import logging
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Query, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from api import access, limits
from api.schemas import (
    SCOPE_PATTERN,
    AddedOut,
    ErrorOut,
    EventPage,
    MemoryIn,
    MemoryOut,
    MemoryPage,
    MemoryPatch,
    PreviewIn,
    PreviewOut,
    SearchIn,
    SearchOut,
)
from memories import recall, services, tokens
from memories.models import AccessToken, Memory, MemoryKind
from memories.selectors import RecalledMemory

logger = logging.getLogger(__name__)

PAGE_LIMIT = Query(20, ge=1, le=100)
PAGE_OFFSET = Query(0, ge=0)
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}


class TokenAuth(HttpBearer):
    """A personal access token in `Authorization: Bearer …`, checked against the database on
    every request, then counted against its rate limit."""

    def authenticate(self, request: HttpRequest, token: str) -> AccessToken | None:
        limits.check_body_size(request.META.get("CONTENT_LENGTH"))
        try:
            access_token = tokens.authenticate(token)
        except tokens.TokenRefused:
            return None
        limits.check_rate(access_token)
        return access_token


class TokenRequest(HttpRequest):
    auth: AccessToken


api = NinjaAPI(
    title="Recall memory API",
    version="1",
    urls_namespace="api",
    auth=TokenAuth(),
    description="Add, search and delete your memories with a personal access token "
    "(create one on the API access page).",
)


def _error(
    request: HttpRequest, status: int, detail: str, field: str | None = None
) -> HttpResponse:
    body: dict[str, Any] = {"detail": detail}
    if field is not None:
        body["field"] = field
    return api.create_response(request, body, status=status)


@api.exception_handler(ValidationError)
def invalid_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0]
    # ninja puts the body under its parameter's name ("body", "payload", "text"): drop that.
    location = [str(part) for part in first.get("loc", ()) if part != "payload"]
    return _error(request, 400, first.get("msg", "Invalid value."), ".".join(location) or "body")


@api.exception_handler(limits.BodyTooLarge)
def body_too_large(request: HttpRequest, exc: limits.BodyTooLarge) -> HttpResponse:
    return _error(request, 400, str(exc), "body")


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, 401, "A valid access token is needed (Authorization: Bearer …).")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(limits.RateLimited)
def rate_limited(request: HttpRequest, exc: limits.RateLimited) -> HttpResponse:
    response = _error(request, 429, str(exc))
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(access.ReadOnlyToken)
def read_only(request: HttpRequest, exc: access.ReadOnlyToken) -> HttpResponse:
    return _error(request, 403, str(exc))


@api.exception_handler(Http404)
@api.exception_handler(tokens.ScopeNotAllowed)
def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 404, "Not found.")


@api.exception_handler(services.InvalidMemory)
def invalid_memory(request: HttpRequest, exc: services.InvalidMemory) -> HttpResponse:
    return _error(request, 400, str(exc))


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja's own 400 is a body it cannot parse as JSON.
    field = "body" if exc.status_code == 400 else None
    return _error(request, exc.status_code, exc.message, field)


@api.exception_handler(Exception)
def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API request failed: %s", type(exc).__name__)
    return _error(request, 500, "Server error.")


def not_found_json(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under /api/: a JSON 404 rather than the site's HTML page."""
    return JsonResponse({"detail": "Not found."}, status=404)


def _endpoint(request: HttpRequest) -> str:
    return f"{request.method} {request.path}"[:100]


def memory_out(memory: Memory) -> dict[str, Any]:
    return {
        "id": memory.pk,
        "text": memory.text,
        "kind": memory.kind,
        "tags": memory.tags,
        "metadata": {k: v for k, v in memory.metadata.items() if k != "status_before_delete"},
        "scope": tokens.scope_name(memory.project_id),
        "status": memory.status,
        "created_at": memory.created_at,
        "updated_at": memory.updated_at,
        "expires_at": memory.expires_at,
    }


def _hits_out(found: list[RecalledMemory]) -> list[dict[str, Any]]:
    return [{"memory": memory_out(item.memory), "score": item.score} for item in found]


def _page(count: int, limit: int, offset: int) -> dict[str, Any]:
    next_offset = offset + limit if offset + limit < count else None
    return {"count": count, "limit": limit, "offset": offset, "next_offset": next_offset}


@api.post("/memories", response={201: AddedOut, **ERRORS}, tags=["memories"])
def add_memory(request: TokenRequest, payload: MemoryIn) -> Status[dict[str, Any]]:
    """Remember a fact (or confirm it, when already known: `created` is then false)."""
    result = access.add_memory(
        request.auth, endpoint=_endpoint(request), **payload.model_dump(mode="python")
    )
    return Status(
        201,
        {
            "memory": memory_out(result.memory),
            "created": result.created,
            "superseded": [old.pk for old in result.superseded],
        },
    )


@api.get("/memories", response={200: MemoryPage, **ERRORS}, tags=["memories"])
def list_memories(
    request: TokenRequest,
    limit: int = PAGE_LIMIT,
    offset: int = PAGE_OFFSET,
    kind: MemoryKind | None = None,
    tag: str = "",
    scope: str = Query("", pattern=SCOPE_PATTERN),
) -> dict[str, Any]:
    """Active memories within the token's scope, newest first."""
    memories = access.list_memories(request.auth, kind=kind or "", tag=tag, scope=scope)
    page = list(memories[offset : offset + limit])
    access.record_page(request.auth, page, endpoint=_endpoint(request))
    return {"items": [memory_out(m) for m in page], **_page(memories.count(), limit, offset)}


@api.post("/memories/search", response={200: SearchOut, **ERRORS}, tags=["memories"])
def search_memories(request: TokenRequest, payload: SearchIn) -> dict[str, Any]:
    """Memories best matching the query (meaning and words), best first."""
    search = access.SearchQuery(
        query=payload.query,
        limit=payload.limit,
        kinds=tuple(payload.kinds),
        tag=payload.tag,
        scope=payload.scope,
        metadata=payload.metadata,
    )
    return {
        "results": _hits_out(
            access.search_memories(request.auth, search, endpoint=_endpoint(request))
        )
    }


@api.get("/memories/{memory_id}", response={200: MemoryOut, **ERRORS}, tags=["memories"])
def get_memory(request: TokenRequest, memory_id: UUID) -> dict[str, Any]:
    return memory_out(access.get_memory(request.auth, memory_id, endpoint=_endpoint(request)))


@api.patch("/memories/{memory_id}", response={200: MemoryOut, **ERRORS}, tags=["memories"])
def update_memory(request: TokenRequest, memory_id: UUID, payload: MemoryPatch) -> dict[str, Any]:
    changes = payload.model_dump(mode="python", exclude_unset=True)
    if "expires_at" not in changes:
        changes["expires_at"] = False
    memory = access.update_memory(request.auth, memory_id, endpoint=_endpoint(request), **changes)
    return memory_out(memory)


@api.delete("/memories/{memory_id}", response={204: None, **ERRORS}, tags=["memories"])
def delete_memory(request: TokenRequest, memory_id: UUID) -> Status[None]:
    access.delete_memory(request.auth, memory_id, endpoint=_endpoint(request))
    return Status(204, None)


@api.get("/memories/{memory_id}/history", response={200: EventPage, **ERRORS}, tags=["memories"])
def memory_history(
    request: TokenRequest, memory_id: UUID, limit: int = PAGE_LIMIT, offset: int = PAGE_OFFSET
) -> dict[str, Any]:
    """Every change of one memory, newest first."""
    events = access.history_of(request.auth, memory_id, endpoint=_endpoint(request))
    return {"items": events[offset : offset + limit], **_page(len(events), limit, offset)}


@api.post("/recall-preview", response={200: PreviewOut, **ERRORS}, tags=["recall"])
def recall_preview(request: TokenRequest, payload: PreviewIn) -> dict[str, Any]:
    """The memories a chat in the token's scope would be given for this message."""
    recalled = access.preview_recall(request.auth, payload.message, endpoint=_endpoint(request))
    return {"memories": _hits_out(recalled), "context": recall.context_block(recalled)}
