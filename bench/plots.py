"""Draw the PNG plots linked from RESULTS.md out of the JSON the benchmarks wrote.

.venv/bin/python bench/plots.py     (needs matplotlib, see RESULTS.md)
"""

import json

import harness
import matplotlib

# No display here: draw straight to PNG files.
matplotlib.use("Agg")
import matplotlib.pyplot as plt

DATABASES = ("sqlite", "postgresql")


def load(name: str) -> dict | None:
    path = harness.RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _save(figure, axes, file_name: str, *, x: str, y: str, title: str) -> None:
    axes.set_xlabel(x)
    axes.set_ylabel(y)
    axes.set_title(title)
    axes.legend(fontsize=8)
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(harness.BENCH_DIR / file_name, dpi=110)


def latency_plot() -> None:
    figure, axes = plt.subplots(figsize=(8, 5))
    mem0_drawn = False
    for database in DATABASES:
        data = load(f"retrieval_speed_{database}")
        if data is None:
            continue
        rows = data["results"]
        sizes = [row["memories"] for row in rows]
        for key, label, style in (
            ("search", "search incl. query embedding", "-o"),
            ("search_index_only", "index only (vector given)", "--o"),
        ):
            axes.plot(
                sizes,
                [row[key]["p95_ms"] for row in rows],
                style,
                label=f"ours, {database}: {label}, p95",
            )
        mem0_rows = [row for row in rows if "mem0" in row]
        if mem0_rows and not mem0_drawn:
            axes.plot(
                [row["memories"] for row in mem0_rows],
                [row["mem0"]["search"]["p95_ms"] for row in mem0_rows],
                "-s",
                color="black",
                label="plain mem0 2.2.1 + local Qdrant, p95",
            )
            mem0_drawn = True
    axes.axhline(15, color="grey", linestyle=":", label="target: 15 ms")
    axes.set_xscale("log")
    axes.set_yscale("log")
    _save(
        figure,
        axes,
        "latency_vs_memories.png",
        x="memories of the searched user (10 other users' 10k memories present)",
        y="search latency p95 (ms)",
        title="Memory search latency vs memory count (2 cores, CPU only)",
    )


def ttft_plot() -> None:
    figure, axes = plt.subplots(figsize=(8, 5))
    for database in DATABASES:
        data = load(f"streaming_load_{database}")
        if data is None:
            continue
        for memories in sorted({row["memories_per_user"] for row in data["results"]}):
            rows = [row for row in data["results"] if row["memories_per_user"] == memories]
            for quantile, style in (("p50_ms", "--o"), ("p95_ms", "-o")):
                axes.plot(
                    [row["concurrency"] for row in rows],
                    [max(row["added_ttft"][quantile], 0.1) for row in rows],
                    style,
                    label=f"{database}, {memories} memories/user, {quantile[:3]}",
                )
    axes.axhline(30, color="grey", linestyle=":", label="target at N=1: 30 ms")
    axes.axhline(100, color="grey", linestyle="-.", label="target at N=200: 100 ms")
    axes.set_xscale("log")
    axes.set_yscale("log")
    _save(
        figure,
        axes,
        "ttft_vs_concurrency.png",
        x="concurrent chats on one Daphne process",
        y="time to first token added by the app (ms)",
        title="Added TTFT vs concurrency (2 cores, CPU only)",
    )


def throughput_plot() -> None:
    data = load("throughput")
    if data is None:
        return
    figure, axes = plt.subplots(figsize=(8, 5))
    for processes, run in data["runs"].items():
        rates = [step["offered_rate"] for step in run["steps"]]
        axes.plot(
            rates,
            [max(step["added_ttft"]["p95_ms"], 0.1) for step in run["steps"]],
            "-o",
            label=f"{processes} web process(es): added TTFT p95",
        )
        axes.plot(
            rates,
            [max(step["added_ttft"]["p50_ms"], 0.1) for step in run["steps"]],
            "--o",
            label=f"{processes} web process(es): p50",
        )
    # What shipped before the last change RESULTS.md describes, measured the same way.
    before = load("throughput_before_sdk") or {"runs": {}}
    for processes, run in before["runs"].items():
        axes.plot(
            [step["offered_rate"] for step in run["steps"]],
            [max(step["added_ttft"]["p95_ms"], 0.1) for step in run["steps"]],
            ":x",
            alpha=0.6,
            label=f"before: {processes} web process(es), p95",
        )
    axes.axhline(data["added_ttft_limit_ms"], color="grey", linestyle=":", label="limit: 100 ms")
    axes.set_yscale("log")
    _save(
        figure,
        axes,
        "throughput.png",
        x="offered chat turns a second (Poisson arrivals over 200 open chats)",
        y="time to first token added by the app (ms)",
        title="Added TTFT vs arrival rate, PostgreSQL + Redis behind nginx (2 cores)",
    )


def main() -> None:
    latency_plot()
    ttft_plot()
    throughput_plot()
    print(
        "wrote bench/latency_vs_memories.png, bench/ttft_vs_concurrency.png "
        "and bench/throughput.png"
    )


if __name__ == "__main__":
    main()
