"""Time to render an answer's Markdown to safe HTML: a 100 kB answer, and inputs made to hurt.

    .venv/bin/python bench/markdown_render.py

Every answer is rendered by chat.rendering.render_answer_html, on each page load and once when
it completes. The last table weighs re-rendering the whole answer on every streamed flush (the
alternative to streaming plain text and rendering once at the end).
"""

import sys
import time

import harness

sys.path.insert(0, str(harness.REPO_DIR))

from chat.rendering import render_answer_html

RUNS = 30
PATHOLOGICAL_RUNS = 3
STREAMED_ANSWER_CHARS = 10_000
CHARS_PER_FLUSH = 20  # ~50 tokens/s in 50 ms flushes (CHAT_STREAM_FLUSH_SECONDS)


def realistic_answer(size: int) -> str:
    """Prose, lists, a table and code, the mix a model writes, repeated up to `size` characters."""
    section = """## Step {n}: set up the worker

Start the **worker** before the web process, so *background jobs* run as soon as they are
queued. The command is `make worker`; see [the docs](https://docs.djangoproject.com/) for more.

- Install the dependencies with `pip install -e .`
- Copy `.env.example` to `.env` and set `SECRET_KEY`
  - for production, also set `ALLOWED_HOSTS`
- Run the migrations

| Setting | Default | Meaning |
|:--------|--------:|:-------:|
| `DEBUG` | false | shows tracebacks |
| `TIME_ZONE` | UTC | dates on pages |
| `REDIS_URL` | (none) | channel layer |

```python
def retry(job, attempts: int = 3) -> bool:
    \"\"\"Run a job, retrying with backoff.\"\"\"
    for attempt in range(attempts):
        try:
            return job()  # first try at once
        except TimeoutError as error:
            time.sleep(2**attempt)
    return False
```

> Note: the worker and the web process must share `DATA_DIR`.

"""
    parts, n = [], 1
    while sum(map(len, parts)) < size:
        parts.append(section.format(n=n))
        n += 1
    return "".join(parts)[:size]


def pathological_inputs() -> dict[str, str]:
    return {
        "realistic answer past the limit": realistic_answer(1_000_000),
        "10,000 nested '>'": ">" * 10_000 + " deep",
        "10,000 nested list markers": "- " * 10_000 + "deep",
        "300 list levels by indent": "".join("  " * level + "- item\n" for level in range(300)),
        "unterminated fence": "```python\n" + "x = [1, 2, 3]\n" * 7_000,
        "10,000 '['": "[" * 10_000 + "x",
        "10,000 '[a]('": "[a](" * 10_000,
        "20,000 '*a '": "*a " * 20_000,
        "raw HTML": "<img src=x onerror=alert(1)><script>alert(1)</script>" * 1_850,
        "javascript: links": "[x](javascript:alert(1)) " * 3_900,
        "right-to-left": "مرحبا بالعالم **عريض** \u202e שלום עולם\n" * 2_600,
        "emoji": "👩\u200d👩\u200d👧\u200d👦🏳️\u200d🌈🇫🇷 *emoji* 🎉\n" * 3_900,
        "5,000-row table": "| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 5_000,
    }


def timed(text: str, runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each run (on a busy machine they differ)."""
    wall, cpu = [], []
    for run in range(runs):
        # A different answer of the same length each run: the renderer caches what it has seen.
        fresh = f"run {run}\n\n{text}"[: len(text)]
        started, started_cpu = time.perf_counter(), time.process_time()
        render_answer_html(fresh)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return wall, cpu


def main() -> None:
    harness.arguments(__doc__.splitlines()[0]).parse_args()
    answer = realistic_answer(100_000)
    rows = [["realistic answer", _kilobytes(answer), *_summary(timed(answer, RUNS))]]
    for name, text in pathological_inputs().items():
        rows.append([name, _kilobytes(text), *_summary(timed(text, PATHOLOGICAL_RUNS))])
    print(f"Render time (ms), {RUNS} runs of the 100 kB answer, {PATHOLOGICAL_RUNS} of the others")
    harness.print_table(["input", "kB", "p50 ms", "p95 ms", "CPU p50 ms", "runs"], rows)

    streamed = realistic_answer(STREAMED_ANSWER_CHARS)
    cuts = range(CHARS_PER_FLUSH, len(streamed) + CHARS_PER_FLUSH, CHARS_PER_FLUSH)
    started = time.process_time()
    sent = sum(len(render_answer_html(streamed[:cut])) for cut in cuts)  # each text is new
    rerender_seconds = time.process_time() - started
    final = len(render_answer_html(streamed))
    print(f"\nA {STREAMED_ANSWER_CHARS // 1000} kB answer in {len(cuts)} flushes")
    harness.print_table(
        ["streaming as", "render CPU ms", "HTML bytes sent"],
        [
            [
                "plain text, one final render",
                round(sum(timed(streamed, 1)[1]) * 1000, 1),
                len(streamed) + final,
            ],
            ["Markdown re-rendered each flush", round(rerender_seconds * 1000, 1), sent],
        ],
    )
    harness.write_results(
        "markdown_render",
        {
            "render_ms": {
                row[0]: {
                    "kB": row[1],
                    "p50": row[2],
                    "p95": row[3],
                    "cpu_p50": row[4],
                    "runs": row[5],
                }
                for row in rows
            },
            "streaming": {
                "answer_chars": STREAMED_ANSWER_CHARS,
                "flushes": len(cuts),
                "rerender_each_flush_cpu_ms": round(rerender_seconds * 1000, 1),
                "rerender_each_flush_bytes": sent,
                "plain_then_final_bytes": len(streamed) + final,
            },
        },
    )


def _kilobytes(text: str) -> int:
    return round(len(text.encode()) / 1000)


def _summary(samples: tuple[list[float], list[float]]) -> list:
    wall, cpu = harness.latency_summary(samples[0]), harness.latency_summary(samples[1])
    return [round(wall["p50_ms"], 1), round(wall["p95_ms"], 1), round(cpu["p50_ms"], 1), wall["n"]]


if __name__ == "__main__":
    main()
