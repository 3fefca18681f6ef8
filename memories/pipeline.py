"""The memory side of a chat turn: tools during the answer, extraction after it."""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chat import agent
from chat.models import Conversation, Message
from memories import extraction, services
from memories.models import ExtractionRun, Memory, MemoryEvent, MemoryKind

logger = logging.getLogger(__name__)

# Similarity above which an older memory is worth asking the model about: does the new fact
# replace it?
RECONCILE_SIMILARITY = 0.45


# --- tools the model may call mid-answer --------------------------------------------------------


def memory_tools(owner, *, source: Message) -> list[agent.Tool]:
    """The memory tools for one turn; what they store is attributed to the `source` message.

    Offer them only where memory is on (services.memory_enabled).
    """

    async def remember(arguments: dict[str, Any]) -> str:
        kind = arguments.get("kind") or MemoryKind.OTHER
        if kind not in MemoryKind.values:
            kind = MemoryKind.OTHER
        result = await database_sync_to_async(services.add_memory)(
            owner,
            str(arguments.get("text", "")),
            kind=kind,
            tags=arguments.get("tags") or [],
            source_message=source,
            metadata={"via": "remember tool"},
        )
        status = "already known" if not result.created else result.memory.status
        return json.dumps({"id": str(result.memory.id), "status": status})

    async def forget(arguments: dict[str, Any]) -> str:
        forgotten = await database_sync_to_async(services.forget_matching)(
            owner, str(arguments.get("about", "")), message=source
        )
        return json.dumps({"forgotten": [memory.text for memory in forgotten]})

    async def search_memory(arguments: dict[str, Any]) -> str:
        found = await database_sync_to_async(services.search_memories)(
            owner, str(arguments.get("query", "")), limit=5
        )
        return json.dumps([{"text": item.memory.text, "kind": item.memory.kind} for item in found])

    text_schema = {"type": "string"}
    return [
        agent.Tool(
            name="remember",
            description="Store a durable fact about the user (preference, profile, ongoing task).",
            parameters={
                "type": "object",
                "properties": {
                    "text": {**text_schema, "description": "The fact, in a short sentence."},
                    "kind": {"type": "string", "enum": list(MemoryKind.values)},
                    "tags": {"type": "array", "items": text_schema},
                },
                "required": ["text"],
            },
            run=remember,
        ),
        agent.Tool(
            name="forget",
            description="Forget what is remembered about something, when the user asks to.",
            parameters={
                "type": "object",
                "properties": {"about": {**text_schema, "description": "What to forget."}},
                "required": ["about"],
            },
            run=forget,
        ),
        agent.Tool(
            name="search_memory",
            description="Search everything remembered about the user.",
            parameters={
                "type": "object",
                "properties": {"query": text_schema},
                "required": ["query"],
            },
            run=search_memory,
        ),
    ]


def remember_tool_result(
    conversation: Conversation, answer: Message, name: str, arguments: dict, output: str
) -> None:
    """Keep the output of a reusable tool, so a later turn can answer without calling it again."""
    if not services.memory_enabled(conversation):
        return
    summary = f"Result of {name}({json.dumps(arguments, sort_keys=True)}): {output}"
    services.add_memory(
        conversation.owner,
        summary[:2000],
        kind=MemoryKind.TOOL_RESULT,
        source_message=user_message_before(answer),
        metadata={"tool": name, "arguments": arguments},
    )


# --- extraction after the turn ------------------------------------------------------------------


def user_message_before(answer: Message) -> Message | None:
    return (
        Message.objects.filter(
            conversation_id=answer.conversation_id, role=Message.Role.USER, pk__lt=answer.pk
        )
        .order_by("-pk")
        .first()
    )


def schedule_extraction(answer: Message) -> ExtractionRun | None:
    """Record that this turn's memories are to be extracted, and queue the job after commit."""
    if not services.memory_enabled(answer.conversation):
        return None
    run = ExtractionRun.objects.create(message=answer)
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int, *, attempt: int = 0) -> None:
    from memories.tasks import extract_memories

    task = extract_memories
    if attempt and task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + timedelta(seconds=min(300, 5 * 2**attempt)))
    task.enqueue(run_id)


def run_extraction(run_id: int) -> None:
    """The body of the background job: extract, store, and on failure try again later."""
    run = ExtractionRun.objects.select_related("message__conversation__owner").get(pk=run_id)
    if run.status == ExtractionRun.Status.DONE:
        return
    answer = run.message
    run.attempts += 1
    run.save(update_fields=["attempts", "updated_at"])
    try:
        if services.memory_enabled(answer.conversation):
            extract_from_turn(answer)
    except Exception as error:
        # Only the error's type goes to the log: its text could quote the user's words.
        logger.warning(
            "memory extraction %s failed (attempt %s): %s",
            run.pk,
            run.attempts,
            type(error).__name__,
        )
        run.last_error = f"{type(error).__name__}: {error}"[:1000]
        exhausted = run.attempts >= settings.MEMORY_EXTRACTION_ATTEMPTS
        run.status = ExtractionRun.Status.FAILED if exhausted else ExtractionRun.Status.PENDING
        run.save(update_fields=["status", "last_error", "updated_at"])
        if not exhausted:
            _enqueue(run.pk, attempt=run.attempts)
        return
    run.status = ExtractionRun.Status.DONE
    run.last_error = ""
    run.save(update_fields=["status", "last_error", "updated_at"])


def extract_from_turn(answer: Message) -> None:
    source = user_message_before(answer)
    if source is None:
        return
    owner = answer.conversation.owner
    if agent.uses_offline_model():
        _extract_offline(owner, source)
    else:
        _extract_with_mem0(owner, source, answer)


def _extract_offline(owner, source: Message) -> None:
    facts, forget_requests = extraction.extract_facts(source.content)
    for request in forget_requests:
        services.forget_matching(owner, request.about, message=source)
    for fact in facts:
        services.add_memory(owner, fact.text, kind=fact.kind, slot=fact.slot, source_message=source)


def _extract_with_mem0(owner, source: Message, answer: Message) -> None:
    from memories.mem0_bridge import mem0_memory, turn_scope

    started = timezone.now()
    memory = mem0_memory()
    memory.add(
        [
            {"role": "user", "content": source.content},
            {"role": "assistant", "content": answer.content},
        ],
        **turn_scope(owner, source),
        metadata={"source_message_id": source.pk},
        infer=True,
    )
    added = Memory.objects.filter(
        owner=owner, source_message=source, created_at__gte=started, status=Memory.Status.ACTIVE
    )
    for new in added:
        _reconcile(owner, new, memory.llm)


RECONCILE_PROMPT = """You maintain a list of facts about a user. A new fact was just learned.
Decide which of the existing facts it makes outdated: facts it contradicts, or older versions of
the same fact that it updates. Facts about different things are never outdated by it.
Answer with JSON only: {"outdated": [numbers of the outdated facts]}."""


def _reconcile(owner, new: Memory, llm) -> None:
    """Supersede the older memories that the model says `new` contradicts or updates."""
    candidates = [
        hit
        for hit in services.search_memories(owner, new.text, limit=6)
        if hit.memory.pk != new.pk and hit.similarity >= RECONCILE_SIMILARITY
    ]
    if not candidates:
        return
    listing = "\n".join(f"{n}. {c.memory.text}" for n, c in enumerate(candidates, start=1))
    reply = llm.generate_response(
        messages=[
            {"role": "system", "content": RECONCILE_PROMPT},
            {"role": "user", "content": f"Existing facts:\n{listing}\n\nNew fact: {new.text}"},
        ],
        response_format={"type": "json_object"},
    )
    try:
        outdated = json.loads(reply).get("outdated", [])
    except (json.JSONDecodeError, AttributeError):
        logger.warning("memory reconciliation answer was not JSON; nothing superseded")
        return
    for number in outdated:
        if isinstance(number, int) and 1 <= number <= len(candidates):
            services.supersede(owner, candidates[number - 1].memory.pk, by=new)


@dataclass(frozen=True)
class MemoryChange:
    """One line of the "Memory updated" notice under an answer."""

    memory: Memory
    action: str
    old_text: str
    new_text: str


def changes_after(answer: Message) -> list[MemoryChange] | None:
    """What this turn changed in memory, or None while its extraction is still running."""
    run = ExtractionRun.objects.filter(message=answer).first()
    if run is None:
        return []
    if run.status == ExtractionRun.Status.PENDING:
        return None
    source = user_message_before(answer)
    events = MemoryEvent.objects.filter(
        owner_id=answer.conversation.owner_id,
        message=source,
        action__in=[
            MemoryEvent.Action.ADDED,
            MemoryEvent.Action.SUPERSEDED,
            MemoryEvent.Action.DELETED,
        ],
    ).select_related("memory")
    return [MemoryChange(e.memory, e.action, e.old_text, e.new_text) for e in events]


def retry_extractions(*, older_than: datetime) -> int:
    """Queue again every failed extraction, and pending ones not touched since `older_than`."""
    runs = ExtractionRun.objects.filter(
        Q(status=ExtractionRun.Status.FAILED)
        | Q(status=ExtractionRun.Status.PENDING, updated_at__lt=older_than)
    )
    run_ids = list(runs.values_list("pk", flat=True))
    ExtractionRun.objects.filter(pk__in=run_ids).update(
        status=ExtractionRun.Status.PENDING, attempts=0
    )
    for run_id in run_ids:
        _enqueue(run_id)
    return len(run_ids)
