"""How long one short question takes to embed: the graph as traced against the shipped fused one.

    .venv/bin/python bench/query_embedding.py [--queries 400]

Both graphs run in this one process with the app's session options (one intra-op thread), text
by text in turn, so machine load falls on both alike. The questions are the quality set's messages
(bench/quality/, every language, 3-40 tokens). "before" is memories.onnx_export's torch trace
without the fusions, as the app ran it until now; "after" is memories.embeddings.embed_text,
tokenizer and all. Also reports the cosine between the two graphs' vectors (stored embeddings
stay valid only if it is ~1), and the fused graph with two threads for reference. "CPU" is the
calling thread's CPU time (the work, whatever the load; with two threads the second one's work is
not in it). Needs torch for the unfused trace, as the export does.
"""

import json
import tempfile
import time
from pathlib import Path

import harness
import numpy as np


def quality_messages() -> list[str]:
    messages = []
    for path in sorted((harness.BENCH_DIR / "quality").glob("*.json")):
        messages += [message["text"] for message in json.loads(path.read_text())["messages"]]
    return messages


def session(path: Path, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def embedder(graph):
    """The app's embed_text, on another graph: same tokenizer, same inputs."""
    from memories import embeddings

    tokenizer, _ = embeddings._encoder()

    def embed(text: str) -> np.ndarray:
        encoding = tokenizer.encode(text)
        inputs = {
            "input_ids": np.array([encoding.ids], dtype=np.int64),
            "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
        }
        return graph.run(None, inputs)[0][0]

    return embed


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=400, help="questions to time")
    options = parser.parse_args()
    harness.setup_django("query-embedding", options.postgres)
    from memories import embeddings, onnx_export

    questions = quality_messages()[: options.queries]
    tokenizer, _ = embeddings._encoder()
    lengths = [len(tokenizer.encode(text).ids) for text in questions]
    with tempfile.TemporaryDirectory() as scratch:
        traced = Path(scratch) / "traced.onnx"
        onnx_export.trace_to_onnx(traced)
        embedders = {
            "before: traced graph, 1 thread": embedder(session(traced, 1)),
            "after: fused graph, 1 thread (embed_text)": embeddings.embed_text,
            "fused graph, 2 threads": embedder(session(embeddings.model_path(), 2)),
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
                vectors[name].append(vector)
    before, after = (np.stack(vectors[name]) for name in list(embedders)[:2])
    cosines = (before * after).sum(axis=1)
    latency = {name: harness.latency_summary(samples) for name, samples in seconds.items()}
    cpu = {name: harness.latency_summary(samples) for name, samples in cpu_seconds.items()}
    print(
        f"\n{len(questions)} quality-set messages one at a time, tokens per message "
        f"p50 {int(np.median(lengths))}, max {max(lengths)}; cosine traced vs fused "
        f"min {cosines.min():.7f} (ms)"
    )
    harness.print_table(
        ["embedder", "p50", "p95", "mean", "CPU p50", "CPU p95"],
        [
            [name, s["p50_ms"], s["p95_ms"], s["mean_ms"], cpu[name]["p50_ms"], cpu[name]["p95_ms"]]
            for name, s in latency.items()
        ],
    )
    harness.write_results(
        "query_embedding",
        {
            "queries": len(questions),
            "tokens_p50": int(np.median(lengths)),
            "tokens_max": max(lengths),
            "cosine_traced_vs_fused_min": float(cosines.min()),
            "load_average": Path("/proc/loadavg").read_text().split()[:3],
            "latency": latency,
            "calling_thread_cpu": cpu,
        },
    )


if __name__ == "__main__":
    main()
