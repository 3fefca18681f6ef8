"""mem0 on top of our database: a vector store over the Memory model, plugged into mem0's factories.

mem0 extracts facts with the configured LLM; every fact it stores goes through
memories.services.add_memory, so duplicates, supersession, history and revisions apply exactly as
for memories from any other path, and the dashboard shows precisely what retrieval searches.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from mem0.vector_stores.base import VectorStoreBase
from pydantic import BaseModel

from chat.models import Message
from memories import embeddings, retrieval, selectors, services
from memories.models import Memory, MemoryKind

if TYPE_CHECKING:
    from mem0 import Memory as Mem0Memory

    from accounts.models import User

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
            services.add_memory(
                owner,
                payload["data"],
                kind=payload.get("kind") or MemoryKind.OTHER,
                metadata={"extracted_by": "mem0"},
                source_message=source_message,
                memory_id=memory_id,
                vector=_as_vector(vector),
            )

    def search(
        self, query: str, vectors: list, top_k: int = 5, filters: dict | None = None
    ) -> list[StoredVector]:
        owner = _owner(filters or {})
        hits = retrieval.search(owner.pk, query, limit=top_k, query_vector=_as_vector(vectors))
        by_id = Memory.objects.filter(owner=owner).in_bulk([hit.memory_id for hit in hits])
        return [
            StoredVector(
                id=str(hit.memory_id), score=hit.similarity, payload=_payload(by_id[hit.memory_id])
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
        rows = selectors.memories_of(owner).filter(status=Memory.Status.ACTIVE)[: top_k or 100]
        return [[StoredVector(id=str(m.id), payload=_payload(m)) for m in rows]]


def _owner(mapping: dict) -> User:
    owner_id = mapping.get("user_id")
    if not owner_id:
        raise PermissionError("mem0 asked for memories without an owner.")
    return get_user_model().objects.get(pk=int(owner_id))


def _source_message(owner: User, payload: dict) -> Message | None:
    message_id = payload.get("source_message_id")
    if not message_id:
        return None
    return Message.objects.filter(pk=message_id, conversation__owner=owner).first()


def _as_vector(vector: list[float] | np.ndarray) -> np.ndarray:
    return np.asarray(vector, dtype=np.float32)


def _payload(memory: Memory) -> dict[str, Any]:
    return {
        "data": memory.text,
        "hash": memory.content_hash,
        "user_id": str(memory.owner_id),
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
    """A mem0 Memory whose vector store is our database and whose LLM is the configured upstream."""
    from mem0 import Memory as Mem0Memory
    from mem0.configs.base import MemoryConfig
    from mem0.embeddings.configs import EmbedderConfig
    from mem0.llms.configs import LlmConfig
    from mem0.utils.factory import EmbedderFactory, VectorStoreFactory
    from mem0.vector_stores.configs import VectorStoreConfig

    VectorStoreFactory.provider_to_class[PROVIDER] = f"{__name__}.DjangoVectorStore"
    EmbedderFactory.provider_to_class[EMBEDDER] = f"{__name__}.SharedEmbedder"
    settings.MEM0_DIR.mkdir(parents=True, exist_ok=True)
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
        history_db_path=str(settings.MEM0_DIR / "history.db"),
    )
    return Mem0Memory(config)


class _StoreConfig(BaseModel):
    collection_name: str
