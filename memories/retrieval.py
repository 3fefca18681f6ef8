"""Hybrid retrieval over one owner's memories: dense similarity fused with BM25, in context.

Both scores are standardised over the eligible memories and added with fixed weights, so a strong
match in either list counts by how far it stands out, not only by its rank. A memory then takes
part of the score of the best match among the memories learned just before and after it from the
same source: an answer is usually found next to the question or remark it answers.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.utils import timezone

from memories import embeddings
from memories.index import OwnerIndex, cache, tokenize
from memories.models import Memory
from memories.scopes import Scopes

# Dense similarity understands paraphrase, BM25 rare names and exact words: dense leads a little.
DENSE_WEIGHT = 0.6
# The share of a neighbour's standardised score a memory inherits (only above-average neighbours).
CONTEXT_WEIGHT = 0.5
# Below this many eligible memories a similarity's standing says little: hits report it as NaN.
STANDING_SAMPLE = 8


@dataclass(frozen=True)
class SearchHit:
    memory_id: object
    score: float
    similarity: float
    lexical: float
    # The similarity in standard deviations above the mean over the eligible memories
    # (NaN when there are too few of them to tell).
    standing: float
    # The same for the BM25 score: how far this memory's words stand out for the query.
    lexical_standing: float = float("nan")


def search(
    owner_id: int,
    query: str,
    *,
    limit: int,
    scopes: Scopes,
    statuses: Collection[str] = (Memory.Status.ACTIVE,),
    kinds: Collection[str] = (),
    tag: str = "",
    include_expired: bool = False,
    query_vector: np.ndarray | None = None,
    now: datetime | None = None,
) -> list[SearchHit]:
    """The owner's memories in `scopes` that best match `query`, best first. Never sees other
    owners' rows, nor rows outside the scopes (they are masked out before anything is scored).

    A query with no words (only `query_vector`) is a plain nearest-neighbour lookup, as the
    duplicate check needs: ranked by similarity alone.
    """
    index = cache.fresh_index(owner_id)
    if not index.rows or limit <= 0:
        return []
    eligible = index.eligible(scopes, statuses, kinds, tag, include_expired, now or timezone.now())
    if not eligible.any():
        return []
    if query_vector is None:
        query_vector = embeddings.embed_text(query)
    similarity = index.dense_scores(query_vector)
    standing = _standardised(similarity, eligible)
    terms = tokenize(query)
    lexical = index.lexical_scores(terms)
    lexical_standing = _standardised(lexical, eligible)
    if eligible.sum() < STANDING_SAMPLE:
        reported_standing = reported_lexical_standing = np.full_like(standing, np.nan)
    else:
        reported_standing, reported_lexical_standing = standing, lexical_standing
    if terms:
        fused = _fuse(index, standing, lexical_standing, eligible)
    else:
        fused = np.where(eligible, similarity, -np.inf)
    return [
        SearchHit(
            memory_id=index.rows[at].id,
            score=float(fused[at]),
            similarity=float(similarity[at]),
            lexical=float(lexical[at]),
            standing=float(reported_standing[at]),
            lexical_standing=float(reported_lexical_standing[at]),
        )
        for at in _top(fused, limit)
    ]


def _fuse(
    index: OwnerIndex, standing: np.ndarray, lexical_standing: np.ndarray, eligible: np.ndarray
) -> np.ndarray:
    fused = DENSE_WEIGHT * standing
    fused += (1 - DENSE_WEIGHT) * lexical_standing
    fused[~eligible] = -np.inf
    context = np.maximum(index.best_nearby(fused), 0.0)
    fused += CONTEXT_WEIGHT * context
    return fused


def _standardised(scores: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    considered = scores[eligible]
    spread = float(considered.std())
    if spread == 0.0:
        return np.zeros(scores.shape[0], dtype=np.float64)
    return (scores - float(considered.mean())) / spread


def _top(scores: np.ndarray, limit: int) -> list[int]:
    """Positions of the `limit` best finite scores, best first (ties: earlier row first)."""
    if limit < scores.shape[0]:
        candidates = np.argpartition(-scores, limit - 1)[:limit]
    else:
        candidates = np.arange(scores.shape[0])
    candidates = candidates[np.isfinite(scores[candidates])]
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order].tolist()
