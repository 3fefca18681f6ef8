"""An in-process search index of one owner's memories, kept in step with the database.

Every change to a memory stamps it with the owner's next revision (memories.services), so any
process can bring its copy up to date by loading only the rows changed since it last looked.
Hard deletions bump the owner's epoch instead, which makes every process rebuild.
"""

import math
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.conf import settings

from memories import embeddings
from memories.models import Memory, MemorySettings

TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her hers
    him his how i if in into is it its me my of on or our she so than that the their them then
    there these they this to too us was we were what when where which who whom why will with
    would you your yours just about also very really""".split()
)
BM25_K1 = 1.2
BM25_B = 0.75


def tokenize(text: str) -> list[str]:
    return [_stem(token) for token in TOKEN.findall(text.lower()) if token not in STOPWORDS]


def _stem(token: str) -> str:
    """A light suffix stripper: enough for 'hiking'/'hikes'/'hiked' to meet, cheap to run."""
    token = token.removesuffix("'s")
    for suffix in ("ing", "edly", "ed", "ies", "es", "s", "ly"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return token


@dataclass
class IndexedMemory:
    id: object
    status: str
    kind: str
    tags: tuple[str, ...]
    expires_at: datetime | None
    created_at: datetime
    text: str


@dataclass
class OwnerIndex:
    epoch: int = -1
    revision: int = -1
    rows: list[IndexedMemory] = field(default_factory=list)
    position: dict[object, int] = field(default_factory=dict)
    vectors: np.ndarray = field(
        default_factory=lambda: np.zeros((0, embeddings.DIMENSIONS), dtype=np.float32)
    )
    term_counts: list[Counter] = field(default_factory=list)
    postings: dict[str, dict[int, int]] = field(default_factory=dict)
    lengths: list[int] = field(default_factory=list)
    total_length: int = 0

    def upsert(self, memory: Memory, vector: np.ndarray) -> None:
        row = IndexedMemory(
            id=memory.id,
            status=memory.status,
            kind=memory.kind,
            tags=tuple(memory.tags or ()),
            expires_at=memory.expires_at,
            created_at=memory.created_at,
            text=memory.text,
        )
        counts = Counter(tokenize(memory.text))
        at = self.position.get(memory.id)
        if at is None:
            at = len(self.rows)
            self.position[memory.id] = at
            self.rows.append(row)
            if at >= self.vectors.shape[0]:
                # Grow geometrically so appending stays cheap; readers slice to len(rows).
                grown = np.zeros((max(16, at * 2), self.vectors.shape[1]), dtype=np.float32)
                grown[:at] = self.vectors[:at]
                self.vectors = grown
            self.vectors[at] = vector
            self.term_counts.append(Counter())
            self.lengths.append(0)
        else:
            self.rows[at] = row
            self.vectors[at] = vector
        self._replace_terms(at, counts)

    def _replace_terms(self, at: int, counts: Counter) -> None:
        for term in self.term_counts[at]:
            postings = self.postings.get(term)
            if postings is not None:
                postings.pop(at, None)
                if not postings:
                    del self.postings[term]
        for term, count in counts.items():
            self.postings.setdefault(term, {})[at] = count
        self.total_length += sum(counts.values()) - self.lengths[at]
        self.lengths[at] = sum(counts.values())
        self.term_counts[at] = counts

    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        return self.vectors[: len(self.rows)] @ query_vector

    def lexical_scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 over this owner's memories only."""
        size = len(self.rows)
        scores = np.zeros(size, dtype=np.float32)
        if not size or not query_terms:
            return scores
        average_length = max(self.total_length / size, 1.0)
        for term in set(query_terms):
            postings = self.postings.get(term)
            if not postings:
                continue
            idf = math.log(1 + (size - len(postings) + 0.5) / (len(postings) + 0.5))
            for at, count in postings.items():
                norm = count + BM25_K1 * (1 - BM25_B + BM25_B * self.lengths[at] / average_length)
                scores[at] += idf * count * (BM25_K1 + 1) / norm
        return scores


class IndexCache:
    """The indexes of the owners this process served lately, least recently used dropped first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._indexes: OrderedDict[int, OwnerIndex] = OrderedDict()
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def fresh_index(self, owner_id: int) -> OwnerIndex:
        """This owner's index, brought up to date with the database first."""
        with self._guard:
            lock = self._locks.setdefault(owner_id, threading.Lock())
        with lock:
            state = MemorySettings.objects.filter(owner_id=owner_id).values("revision", "epoch")
            current = state.first() or {"revision": 0, "epoch": 0}
            with self._guard:
                index = self._indexes.get(owner_id)
            if index is None or index.epoch != current["epoch"]:
                index = OwnerIndex(epoch=current["epoch"])
            if index.revision != current["revision"]:
                _load_changes(owner_id, index)
                index.revision = current["revision"]
            with self._guard:
                self._indexes[owner_id] = index
                self._indexes.move_to_end(owner_id)
                while len(self._indexes) > self.capacity:
                    self._indexes.popitem(last=False)
            return index

    def clear(self) -> None:
        with self._guard:
            self._indexes.clear()


def _load_changes(owner_id: int, index: OwnerIndex) -> None:
    changed = Memory.objects.filter(owner_id=owner_id, revision__gt=index.revision).only(
        "id", "status", "kind", "tags", "expires_at", "created_at", "text", "embedding"
    )
    for memory in changed.iterator(chunk_size=2000):
        index.upsert(memory, embeddings.from_bytes(memory.embedding))


cache = IndexCache(capacity=getattr(settings, "MEMORY_INDEX_CACHE_OWNERS", 256))
