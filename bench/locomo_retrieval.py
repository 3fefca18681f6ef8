"""Turn retrieval on LoCoMo: every turn stored as a memory, evidence recall of each question.

    .venv/bin/python bench/locomo_retrieval.py [--postgres]

Reads ../shared/data/locomo10.json (relative to the repository), which is never copied into it.
"""

import re
import sys
import time

import harness
import numpy as np

DATA_PATH = harness.REPO_DIR.parent / "shared" / "data" / "locomo10.json"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
EVIDENCE_ID = re.compile(r"D:?(\d+):(\d+)")
TOP_K = 10


def load_samples() -> list[dict]:
    import json

    return json.loads(DATA_PATH.read_text())


def turns_of(sample: dict) -> list[tuple[str, str]]:
    """(dia_id, memory text) for every turn of a conversation, in order."""
    conversation = sample["conversation"]
    sessions = sorted(
        (int(key.split("_")[1]) for key in conversation if re.fullmatch(r"session_\d+", key)),
    )
    turns = []
    for number in sessions:
        date = conversation[f"session_{number}_date_time"]
        for turn in conversation[f"session_{number}"]:
            turns.append((turn["dia_id"], f"[{date}] {turn['speaker']}: {turn['text']}"))
    return turns


def normalise_evidence(evidence: list[str], known: set[str]) -> list[str]:
    """The README's fix-ups: "D8:6; D9:17" splits, "D:11:26" and "D30:05" normalise."""
    ids = []
    for raw in evidence:
        for session, turn in EVIDENCE_ID.findall(raw):
            dia_id = f"D{int(session)}:{int(turn)}"
            if dia_id in known and dia_id not in ids:
                ids.append(dia_id)
    return ids


def questions_of(sample: dict, known: set[str]) -> list[dict]:
    questions = []
    for qa in sample["qa"]:
        if qa["category"] not in CATEGORIES:
            continue
        evidence = normalise_evidence(qa.get("evidence", []), known)
        if evidence:
            questions.append(
                {"question": qa["question"], "category": qa["category"], "evidence": evidence}
            )
    return questions


def store_turns(owner, turns: list[tuple[str, str]], vectors: np.ndarray) -> tuple[dict, list]:
    """Each turn through services.add_memory: dia_id -> memory id, and the turns it merged."""
    from memories import services

    memory_of = {}
    merged = []
    for (dia_id, text), vector in zip(turns, vectors, strict=True):
        result = services.add_memory(owner, text, vector=vector, metadata={"dia_id": dia_id})
        memory_of[dia_id] = result.memory.pk
        if not result.created:
            merged.append((dia_id, result.memory.metadata.get("dia_id")))
    return memory_of, merged


def evaluate(owner, questions: list[dict], memory_of: dict, merged_ids: set[str]) -> list[dict]:
    from memories import recall, retrieval
    from memories.scopes import PERSON_ONLY

    rows = []
    for question in questions:
        started = time.perf_counter()
        hits = retrieval.search(owner.pk, question["question"], limit=TOP_K, scopes=PERSON_ONLY)
        elapsed = time.perf_counter() - started
        ranked = [hit.memory_id for hit in hits]
        wanted = [memory_of[dia_id] for dia_id in question["evidence"]]
        ranks = [ranked.index(m) + 1 for m in wanted if m in ranked]
        injected = recall.recall(owner, question["question"], scopes=PERSON_ONLY)
        injected_ids = {item.memory.pk for item in injected}
        rows.append(
            {
                "category": question["category"],
                "recall@5": sum(1 for m in wanted if m in ranked[:5]) / len(wanted),
                "recall@10": sum(1 for m in wanted if m in ranked[:10]) / len(wanted),
                "mrr": 1 / min(ranks) if ranks else 0.0,
                "injected_recall": sum(1 for m in wanted if m in injected_ids) / len(wanted),
                "injected_tokens": sum(
                    recall.estimate_tokens(item.memory.text) + 4 for item in injected
                ),
                "injected_count": len(injected),
                "seconds": elapsed,
                "evidence_merged": any(d in merged_ids for d in question["evidence"]),
            }
        )
    return rows


def summarise(rows: list[dict]) -> dict:
    metrics = ["recall@5", "recall@10", "mrr", "injected_recall"]
    summary = {}
    groups = {"overall": rows}
    groups.update({name: [r for r in rows if r["category"] == c] for c, name in CATEGORIES.items()})
    for name, group in groups.items():
        summary[name] = {m: round(float(np.mean([r[m] for r in group])), 4) for m in metrics}
        summary[name]["questions"] = len(group)
    return summary


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    options = parser.parse_args()
    if not DATA_PATH.exists():
        print(f"LoCoMo data not found at {DATA_PATH}: skipping (see shared/data/README.md).")
        return
    harness.setup_django("locomo", options.postgres)
    from django.conf import settings

    from accounts.models import User
    from memories import embeddings, index

    samples = load_samples()
    conversations = [turns_of(sample) for sample in samples]
    all_texts = [text for turns in conversations for _, text in turns]
    started = time.perf_counter()
    all_vectors = harness.cached_embeddings(all_texts, "locomo")
    print(f"embedded {len(all_texts)} turns in {time.perf_counter() - started:.1f} s")
    embeddings.embed_text("warm up")

    rows, merged_all, store_seconds, offset = [], [], 0.0, 0
    for number, (sample, turns) in enumerate(zip(samples, conversations, strict=True)):
        owner = User.objects.create_user(username=f"locomo{number}", password=None)
        vectors = all_vectors[offset : offset + len(turns)]
        offset += len(turns)
        started = time.perf_counter()
        memory_of, merged = store_turns(owner, turns, vectors)
        store_seconds += time.perf_counter() - started
        merged_all += [(number, *pair) for pair in merged]
        index.cache.fresh_index(owner.pk)
        questions = questions_of(sample, set(memory_of))
        rows += evaluate(owner, questions, memory_of, {dia_id for dia_id, _ in merged})
        print(
            f"conversation {number}: {len(turns)} turns, {len(merged)} merged, "
            f"{len(questions)} questions"
        )

    summary = summarise(rows)
    latency = harness.latency_summary([r["seconds"] for r in rows])
    tokens = [r["injected_tokens"] for r in rows]
    merged_evidence = sum(r["evidence_merged"] for r in rows)
    print()
    harness.print_table(
        ["category", "questions", "R@5", "R@10", "MRR", "R@injected"],
        [
            [name, s["questions"], s["recall@5"], s["recall@10"], s["mrr"], s["injected_recall"]]
            for name, s in summary.items()
        ],
    )
    print(
        f"\nsearch latency (query embedding included): p50 {latency['p50_ms']:.1f} ms, "
        f"p95 {latency['p95_ms']:.1f} ms over {latency['n']} queries"
    )
    print(
        f"injected per query (recall.recall): mean {np.mean(tokens):.0f} tokens, "
        f"p95 {harness.percentile(tokens, 95):.0f}, max {max(tokens)}; "
        f"mean {np.mean([r['injected_count'] for r in rows]):.1f} memories"
    )
    print(
        f"turns merged by add_memory's duplicate check: {len(merged_all)} of {len(all_texts)}; "
        f"questions whose evidence includes a merged turn: {merged_evidence}"
    )
    print(f"storing {len(all_texts)} turns through add_memory took {store_seconds:.1f} s")
    harness.write_results(
        f"locomo_retrieval_{'postgresql' if options.postgres else 'sqlite'}",
        {
            "database": "postgresql" if options.postgres else "sqlite",
            "turns": len(all_texts),
            "questions": len(rows),
            "summary": summary,
            "latency": latency,
            "injected_tokens": {
                "mean": round(float(np.mean(tokens)), 1),
                "p95": harness.percentile(tokens, 95),
                "max": max(tokens),
                "budget": settings.MEMORY_CONTEXT_TOKEN_BUDGET,
            },
            "merged_turns": [{"conversation": c, "turn": d, "kept": k} for c, d, k in merged_all],
            "questions_with_merged_evidence": merged_evidence,
            "store_seconds": round(store_seconds, 1),
        },
    )


if __name__ == "__main__":
    sys.exit(main())
