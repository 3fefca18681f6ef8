"""mem0 on top of our database: a vector store over the Memory model, plugged into mem0's factories.

mem0 extracts facts with the configured LLM; every fact it stores goes through
memories.services.add_memory, so duplicates, supersession, history and revisions apply exactly as
for memories from any other path, and the dashboard shows precisely what retrieval searches.

mem0 keeps no text of its own either: the earlier messages it shows the model are read from the
conversation each time (TurnHistory), so they go with the conversation or the account.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import numpy as np
from django.conf import settings
from mem0.vector_stores.base import VectorStoreBase
from pydantic import BaseModel

from accounts.models import User
from chat.models import Message
from memories import embeddings, offline_extractor, retrieval, selectors, services
from memories.models import Memory
from memories.scopes import PERSON, ChatScope, scope_of

if TYPE_CHECKING:
    from mem0 import Memory as Mem0Memory

PROVIDER = "recall_django"
EMBEDDER = "recall_minilm"


class StoredVector(BaseModel):
    """A search or lookup result in the shape mem0's vector stores return."""

    id: str
    score: float | None = None
    payload: dict[str, Any]


class DjangoVectorStore(VectorStoreBase):
    """mem0's VectorStoreBase over the Memory table. Every call needs the owner ("user_id")."""

    def __init__(self, collection_name: str = "memories", **_: Any) -> None:
        self.collection_name = collection_name

    # mem0 calls these on start-up and reset; our table is created by migrations.
    def create_col(self, name: str, vector_size: int, distance: str) -> None:
        return None

    def list_cols(self) -> list[str]:
        return [self.collection_name]

    def col_info(self) -> dict[str, Any]:
        return {"name": self.collection_name, "count": Memory.objects.count()}

    def delete_col(self) -> None:
        raise NotImplementedError("Memories are only ever deleted per owner, through the services.")

    def reset(self) -> None:
        raise NotImplementedError("Memories are only ever deleted per owner, through the services.")

    def insert(
        self, vectors: list, payloads: list[dict] | None = None, ids: list | None = None
    ) -> None:
        payloads = payloads or [{} for _ in vectors]
        ids = ids or [None for _ in vectors]
        for vector, payload, memory_id in zip(vectors, payloads, ids, strict=True):
            owner = _owner(payload)
            source_message = _source_message(owner, payload)
            kind = payload.get("kind") or offline_extractor.kind_of(payload["data"])
            services.add_memory(
                owner,
                payload["data"],
                kind=kind,
                project_id=_chat_scope(payload).home_for(kind),
                metadata={"extracted_by": "mem0"},
                source_message=source_message,
                memory_id=memory_id,
                vector=_as_vector(vector),
            )

    def search(
        self, query: str, vectors: list, top_k: int = 5, filters: dict | None = None
    ) -> list[StoredVector]:
        owner = _owner(filters or {})
        hits = retrieval.search(
            owner.pk,
            query,
            limit=top_k,
            scopes=_chat_scope(filters or {}).readable,
            query_vector=_as_vector(vectors),
        )
        by_id = Memory.objects.filter(owner=owner).in_bulk([hit.memory_id for hit in hits])
        return [
            StoredVector(
                id=str(hit.memory_id),
                score=hit.similarity,
                payload=_payload(owner, by_id[hit.memory_id]),
            )
            for hit in hits
            if hit.memory_id in by_id
        ]

    def keyword_search(self, query: str, top_k: int = 5, filters: dict | None = None) -> None:
        # Our search() already fuses BM25 with similarity; nothing separate to offer.
        return None

    def get(self, vector_id: str) -> None:
        # mem0 calls get/update/delete with a bare id and no owner; ours never serve that.
        raise PermissionError("Memories are reached through memories.services, with their owner.")

    def update(
        self, vector_id: str, vector: list | None = None, payload: dict | None = None
    ) -> None:
        raise PermissionError("Memories are reached through memories.services, with their owner.")

    def delete(self, vector_id: str) -> None:
        raise PermissionError("Memories are reached through memories.services, with their owner.")

    def list(
        self, filters: dict | None = None, top_k: int | None = None
    ) -> list[list[StoredVector]]:
        owner = _owner(filters or {})
        rows = (
            selectors.memories_of(owner)
            .filter(status=Memory.Status.ACTIVE)
            .filter(selectors.in_scopes(_chat_scope(filters or {}).readable))[: top_k or 100]
        )
        return [[StoredVector(id=str(m.id), payload=_payload(owner, m)) for m in rows]]


class TurnHistory:
    """mem0's message and history store (the methods of its SQLiteManager), over our tables.

    mem0 shows the model the messages before the ones it extracts from, and would keep its own
    copy of them for that. Here its "run" is one turn (turn_scope): the earlier messages are read
    from that turn's conversation, and what mem0 asks to save is already ours or not kept at all.
    """

    def get_last_messages(self, session_scope: str, limit: int = 10) -> list[dict[str, Any]]:
        scope = dict(parse_qsl(session_scope))
        source = Message.objects.filter(
            pk=scope.get("run_id"), conversation__owner=_owner(scope)
        ).first()
        if source is None:
            return []
        earlier = (
            source.conversation.messages.filter(pk__lt=source.pk)
            .exclude(content="")
            .order_by("-pk")[:limit]
        )
        return [
            {
                "role": m.role,
                "content": m.content,
                "name": None,
                "created_at": m.created_at.isoformat(),
            }
            for m in reversed(earlier)
        ]

    def save_messages(self, messages: list[dict], session_scope: str) -> None:
        # The turn's messages are the conversation's own rows already.
        return None

    # mem0's per-memory history; ours is MemoryEvent, written by memories.services.
    def add_history(self, memory_id: str, *_: Any, **__: Any) -> None:
        return None

    def batch_add_history(self, records: list[dict]) -> None:
        return None

    def get_history(self, memory_id: str) -> list[dict]:
        raise NotImplementedError("A memory's history is memories.services.history_of.")

    def reset(self) -> None:
        return None

    def close(self) -> None:
        return None


def turn_scope(owner: User, source: Message) -> dict[str, str]:
    """mem0's ids for extracting from the turn that `source` (a user message) opens.

    The chat's scope travels as mem0's agent_id: mem0 passes it to every search of existing
    memories and into the payload of what it stores, so its extraction sees only the chat's
    scopes and writes where the chat writes.
    """
    scope = scope_of(source.conversation)
    mode = "shared" if scope.includes_person else "only"
    return {
        "user_id": str(owner.memory_key),
        "agent_id": f"scope:{scope.project_id or 'person'}:{mode}",
        "run_id": str(source.pk),
    }


def _chat_scope(mapping: dict) -> ChatScope:
    """The chat scope named by turn_scope's agent_id; without one, the person's alone."""
    match = re.fullmatch(r"scope:(person|\d+):(shared|only)", str(mapping.get("agent_id", "")))
    if match is None or match[1] == "person":
        return ChatScope(project_id=PERSON, includes_person=True)
    return ChatScope(project_id=int(match[1]), includes_person=match[2] == "shared")


def _owner(mapping: dict) -> User:
    memory_key = mapping.get("user_id")
    if not memory_key:
        raise PermissionError("mem0 asked for memories without an owner.")
    return User.objects.get(memory_key=memory_key)


def _source_message(owner: User, payload: dict) -> Message | None:
    message_id = payload.get("source_message_id")
    if not message_id:
        return None
    return Message.objects.filter(pk=message_id, conversation__owner=owner).first()


def _as_vector(vector: list[float] | np.ndarray) -> np.ndarray:
    return np.asarray(vector, dtype=np.float32)


def _payload(owner: User, memory: Memory) -> dict[str, Any]:
    return {
        "data": memory.text,
        "hash": memory.content_hash,
        "user_id": str(owner.memory_key),
        "kind": memory.kind,
        "created_at": memory.created_at.isoformat(),
        "updated_at": memory.updated_at.isoformat(),
    }


class SharedEmbedder:
    """mem0's embedder interface over the one model this process already loaded."""

    def __init__(self, config: Any = None) -> None:
        self.config = config

    def embed(self, text: str, memory_action: str | None = None) -> list[float]:
        return embeddings.embed_text(text).tolist()

    def embed_batch(self, texts: list[str], memory_action: str = "add") -> list[list[float]]:
        return embeddings.embed_texts(texts).tolist()


@cache
def mem0_memory() -> Mem0Memory:
    """A mem0 Memory whose stores are our database and whose LLM is the configured upstream."""
    from mem0 import Memory as Mem0Memory
    from mem0.configs.base import MemoryConfig
    from mem0.embeddings.configs import EmbedderConfig
    from mem0.llms.configs import LlmConfig
    from mem0.utils.factory import EmbedderFactory, VectorStoreFactory
    from mem0.vector_stores.configs import VectorStoreConfig

    VectorStoreFactory.provider_to_class[PROVIDER] = f"{__name__}.DjangoVectorStore"
    EmbedderFactory.provider_to_class[EMBEDDER] = f"{__name__}.SharedEmbedder"
    # mem0 validates providers against its own closed lists; ours are registered in the
    # factories above, so the configs are built without that check.
    config = MemoryConfig.model_construct(
        vector_store=VectorStoreConfig.model_construct(
            provider=PROVIDER, config=_StoreConfig(collection_name="memories")
        ),
        embedder=EmbedderConfig.model_construct(provider=EMBEDDER, config={}),
        llm=LlmConfig(
            provider="openai",
            config={
                "model": settings.OPENAI_MODEL,
                "api_key": settings.OPENAI_API_KEY or "not-needed",
                "openai_base_url": settings.OPENAI_BASE_URL or None,
                "temperature": 0,
            },
        ),
        # mem0 opens its SQLite store while constructing; in memory, it never reaches a file,
        # and it is replaced by ours at once.
        history_db_path=":memory:",
    )
    memory = Mem0Memory(config)
    memory.db.close()
    memory.db = TurnHistory()
    return memory


class _StoreConfig(BaseModel):
    collection_name: str
