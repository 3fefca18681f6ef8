"""Hybrid retrieval over one owner's memories: dense similarity fused with BM25."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.utils import timezone

from memories import embeddings
from memories.index import OwnerIndex, cache, tokenize
from memories.models import Memory

# Reciprocal-rank fusion constant: large enough that one list's top hit does not drown the other.
RRF_K = 60


@dataclass(frozen=True)
class SearchHit:
    memory_id: object
    score: float
    similarity: float
    lexical: float


def search(
    owner_id: int,
    query: str,
    *,
    limit: int,
    statuses: Collection[str] = (Memory.Status.ACTIVE,),
    kinds: Collection[str] = (),
    tag: str = "",
    include_expired: bool = False,
    query_vector: np.ndarray | None = None,
    now: datetime | None = None,
) -> list[SearchHit]:
    """The owner's memories that best match `query`, best first. Never sees other owners' rows."""
    index = cache.fresh_index(owner_id)
    if not index.rows:
        return []
    eligible = _eligible(index, statuses, kinds, tag, include_expired, now or timezone.now())
    if not eligible.any():
        return []
    if query_vector is None:
        query_vector = embeddings.embed_text(query)
    similarity = index.dense_scores(query_vector)
    lexical = index.lexical_scores(tokenize(query))
    fused = _reciprocal_rank_fusion([similarity, lexical], eligible, lexical > 0)
    order = np.argsort(-fused, kind="stable")
    hits = []
    for at in order[:limit]:
        if not eligible[at]:
            break
        hits.append(
            SearchHit(
                memory_id=index.rows[at].id,
                score=float(fused[at]),
                similarity=float(similarity[at]),
                lexical=float(lexical[at]),
            )
        )
    return hits


def _eligible(
    index: OwnerIndex,
    statuses: Collection[str],
    kinds: Collection[str],
    tag: str,
    include_expired: bool,
    now: datetime,
) -> np.ndarray:
    return np.fromiter(
        (
            row.status in statuses
            and (not kinds or row.kind in kinds)
            and (not tag or tag in row.tags)
            and (include_expired or row.expires_at is None or row.expires_at > now)
            for row in index.rows
        ),
        dtype=bool,
        count=len(index.rows),
    )


def _reciprocal_rank_fusion(
    score_lists: list[np.ndarray], eligible: np.ndarray, lexical_match: np.ndarray
) -> np.ndarray:
    fused = np.zeros(eligible.shape[0], dtype=np.float64)
    for position, scores in enumerate(score_lists):
        masked = np.where(eligible, scores, -np.inf)
        ranks = np.empty_like(masked, dtype=np.int64)
        ranks[np.argsort(-masked, kind="stable")] = np.arange(masked.shape[0])
        contribution = 1.0 / (RRF_K + 1 + ranks)
        if position == 1:
            # A memory sharing no word with the query earns nothing from the lexical list.
            contribution = np.where(lexical_match, contribution, 0.0)
        fused += contribution
    return np.where(eligible, fused, -np.inf)
