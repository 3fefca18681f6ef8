"""Learning from a finished turn: the offline rules, or mem0 with the configured model.

Whatever is learned is stored through memories.services; mem0's new facts are then reconciled
with older memories they may contradict.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from chat.models import Message
from config import upstream
from memories import offline_extractor, services, summaries
from memories.models import Memory
from memories.scopes import ChatScope, Scopes, scope_of
from memories.selectors import search_memories, user_message_before

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# Similarity above which an older memory is worth asking the model about: does the new fact
# replace it?
RECONCILE_SIMILARITY = 0.45

RECONCILE_PROMPT = """You maintain a list of facts about a user. A new fact was just learned.
Decide which of the existing facts it makes outdated: facts it contradicts, or older versions of
the same fact that it updates. Facts about different things are never outdated by it.
Answer with JSON only: {"outdated": [numbers of the outdated facts]}."""


def extract_from_turn(answer: Message) -> None:
    """Store what the user's message before `answer` says worth remembering."""
    source = user_message_before(answer)
    if source is None:
        return
    owner = answer.conversation.owner
    scope = scope_of(answer.conversation)
    if upstream.uses_offline_model():
        _extract_offline(owner, scope, source)
    else:
        _extract_with_mem0(owner, source, answer)
    summaries.refresh_if_due(answer.conversation)


def _extract_offline(owner: User, scope: ChatScope, source: Message) -> None:
    """By rule: work facts said in a project chat go to the project, person facts to the person
    (or to the project when it keeps to itself); forgetting reaches only the chat's scopes."""
    facts, forget_requests = offline_extractor.extract_facts(source.content)
    for request in forget_requests:
        services.forget_matching(owner, request.about, scopes=scope.readable, message=source)
    for fact in facts:
        services.add_memory(
            owner,
            fact.text,
            kind=fact.kind,
            project_id=scope.home_for(fact.kind),
            slot=fact.slot,
            source_message=source,
        )


def _extract_with_mem0(owner: User, source: Message, answer: Message) -> None:
    # Imported here: mem0 is slow to import, and the offline path never needs it.
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


def _reconcile(owner: User, new: Memory, llm: Any) -> None:
    """Supersede the older memories that the model says `new` contradicts or updates."""
    candidates = [
        hit
        for hit in search_memories(owner, new.text, scopes=Scopes.of(new.project_id), limit=6)
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
