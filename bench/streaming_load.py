"""Concurrent streaming chats against one Daphne process, with a paced local upstream model.

    .venv/bin/python bench/streaming_load.py [--postgres]

Daphne runs as a subprocess on 127.0.0.1; the upstream is tests/upstream.py's ResponsesServer,
in a process of its own, streaming each answer word by word at a fixed pace. Tasks use
django_tasks' DummyBackend: memory extraction after each answer is enqueued but never run, so
only the chat path is measured.
"""

import asyncio
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import threading
import time

import harness
import numpy as np

CONCURRENCY = (1, 50, 200)
# Each series runs with users who have no memories (the turn skips retrieval), then with users
# who have a few, so every turn embeds the message and searches before the model is called.
MEMORIES_PER_USER = (0, 5)
ANSWER_WORDS = 40
WORD_DELAY_SECONDS = 0.02
FRAME_TIMEOUT_SECONDS = 60
FIRST_DELTA = 'hx-swap-oob="beforeend:'
FINAL = 'hx-swap-oob="outerHTML"'
NOTES = [
    "I like long walks by the harbour on Saturday mornings.",
    "My sister Ana lives in Porto and visits every spring.",
    "I'm vegetarian and allergic to peanuts.",
    "I'm learning to play the cello, twenty minutes a day.",
    "I work night shifts as a nurse on weekdays.",
]
ANSWER = " ".join(f"word{number}" for number in range(ANSWER_WORDS))
# Every answer the upstream will be asked for, and some to spare (then it answers unpaced).
UPSTREAM_ANSWERS = 2 * (21 + len(MEMORIES_PER_USER) * sum(CONCURRENCY))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_daphne(port: int, upstream_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "OPENAI_BASE_URL": upstream_url,
        "OPENAI_API_KEY": "bench",
        "OPENAI_MODEL": "bench-model",
        "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "false",
    }
    daphne = subprocess.Popen(
        [
            str(harness.REPO_DIR / ".venv/bin/daphne"),
            *("-b", "127.0.0.1", "-p", str(port)),
            "config.asgi:application",
        ],
        cwd=harness.REPO_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open("/tmp/recall-bench-daphne.log", "w"),  # noqa: SIM115 (lives as long as Daphne)
    )
    for _ in range(120):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return daphne
        except OSError:
            if daphne.poll() is not None:
                raise SystemExit("Daphne exited; see /tmp/recall-bench-daphne.log") from None
            time.sleep(0.5)
    daphne.terminate()
    raise SystemExit("Daphne did not listen within 60 s")


class ProcessSampler:
    """CPU seconds and peak RSS of one process, from /proc, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_rss_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_rss_mib = max(self.peak_rss_mib, self.rss_mib())

    def __enter__(self) -> "ProcessSampler":
        self.started_cpu = self.cpu_seconds()
        self.started = time.perf_counter()
        self.peak_rss_mib = self.rss_mib()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.used_cpu = self.cpu_seconds() - self.started_cpu
        self.wall = time.perf_counter() - self.started

    def cpu_percent(self) -> float:
        """Of one core, over the sampled window."""
        return round(100 * self.used_cpu / self.wall, 1)


def serve_upstream(connection, answers: int = UPSTREAM_ANSWERS) -> None:
    """The paced upstream, run in its own process so its pacing never waits for the load
    generator; serves until told to stop."""
    sys.path.insert(0, str(harness.REPO_DIR))
    from tests.upstream import ResponsesServer, Text

    with ResponsesServer() as upstream:
        upstream.script(*[Text(ANSWER, delay=WORD_DELAY_SECONDS)] * answers)
        connection.send(upstream.base_url)
        connection.recv()


def upstream_first_delta_seconds(base_url: str, samples: int = 20) -> list[float]:
    """The upstream's own time to first delta: request sent to first delta event read, raw HTTP."""
    import httpx

    seconds = []
    with httpx.Client(base_url=base_url, timeout=FRAME_TIMEOUT_SECONDS) as client:
        for _ in range(samples):
            body = {"model": "bench-model", "input": "hi", "stream": True}
            started = time.perf_counter()
            with client.stream("POST", "/responses", json=body) as response:
                for line in response.iter_lines():
                    if "response.output_text.delta" in line:
                        seconds.append(time.perf_counter() - started)
                        break
    return seconds


def prepare_users(count: int, memories: int, label: str) -> list[tuple[int, str, str]]:
    """`count` users, each with a conversation and a session: (conversation id, cookie, text)."""
    from django.test import Client

    from accounts.models import User
    from chat.models import Conversation
    from memories import embeddings, services

    notes = NOTES[:memories]
    vectors = embeddings.embed_texts(notes)
    prepared = []
    for number in range(count):
        user = User.objects.create_user(username=f"{label}-{number}", password=None)
        for note, vector in zip(notes, vectors, strict=True):
            services.add_memory(user, note, vector=vector)
        conversation = Conversation.objects.create(owner=user)
        client = Client()
        client.force_login(user)
        text = f"Hello from chat {label}-{number}: what should I do this weekend?"
        prepared.append((conversation.pk, client.cookies["sessionid"].value, text))
    return prepared


async def one_chat(
    port: int, conversation_id: int, cookie: str, text: str, start, delay: float = 0.0
) -> dict:
    from websockets.asyncio.client import connect

    result = {"conversation": conversation_id, "text": text, "error": None}
    try:
        async with connect(
            f"ws://127.0.0.1:{port}/ws/chat/{conversation_id}/",
            origin=f"http://127.0.0.1:{port}",
            additional_headers={"Cookie": f"sessionid={cookie}"},
            open_timeout=FRAME_TIMEOUT_SECONDS,
            max_queue=None,
        ) as websocket:
            await start.wait()
            await asyncio.sleep(delay)
            sent = time.perf_counter()
            await websocket.send(json.dumps({"message": text}))
            frames = []
            while True:
                frame = await asyncio.wait_for(websocket.recv(), FRAME_TIMEOUT_SECONDS)
                frames.append((time.perf_counter() - sent, frame))
                if FINAL in frame:
                    break
    except Exception as error:  # Any failure is a result to count, not a reason to stop.
        result["error"] = f"{type(error).__name__}: {error}"
        return result
    deltas = [at for at, frame in frames if FIRST_DELTA in frame]
    if not deltas:
        result["error"] = "no streamed delta before the final frame"
        return result
    times = [at for at, _ in frames]
    result.update(
        ack=times[0],
        ttft=deltas[0],
        total=times[-1],
        gaps=list(np.diff([deltas[0], *[t for t in times if t > deltas[0]]])),
        frames=len(frames),
        frames_per_second=(len(frames) - 1) / max(times[-1] - deltas[0], 1e-9),
    )
    return result


async def run_round(port: int, prepared: list, spread: float = 0.0) -> list[dict]:
    """All chats send together (spread 0), or each at a seeded random moment within `spread` s."""
    start = asyncio.Event()
    delays = random.Random(7).uniform if spread else (lambda low, high: 0.0)
    chats = [
        asyncio.create_task(one_chat(port, *chat, start, delays(0.0, spread))) for chat in prepared
    ]
    # Let every socket connect before any message goes out: concurrency means concurrent turns.
    await asyncio.sleep(min(10.0, 1.0 + len(prepared) * 0.02))
    start.set()
    return await asyncio.gather(*chats)


def verify(results: list[dict]) -> dict:
    """Every user message and every completed answer must be in the database."""
    from chat.models import Message

    lost_questions = lost_answers = 0
    for result in results:
        messages = Message.objects.filter(conversation_id=result["conversation"])
        if not messages.filter(role=Message.Role.USER, content=result["text"]).exists():
            lost_questions += 1
        if not messages.filter(
            role=Message.Role.ASSISTANT, status=Message.Status.COMPLETE, content=ANSWER
        ).exists():
            lost_answers += 1
    return {"lost_user_messages": lost_questions, "lost_answers": lost_answers}


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    parser.add_argument(
        "--spread",
        type=float,
        default=0.0,
        help="seconds over which each round's messages are sent (0: all at once)",
    )
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=CONCURRENCY, help="chats per round"
    )
    options = parser.parse_args()
    database = "postgresql" if options.postgres else "sqlite"
    harness.setup_django("streaming", options.postgres)
    rows = []
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    upstream = multiprocessing.get_context("spawn").Process(target=serve_upstream, args=(theirs,))
    upstream.start()
    try:
        upstream_url = ours.recv()
        upstream_ttft = upstream_first_delta_seconds(upstream_url)
        upstream_ttft_ms = harness.percentile(upstream_ttft, 50) * 1000
        print(f"upstream's own first delta: p50 {upstream_ttft_ms:.2f} ms")
        port = free_port()
        daphne = start_daphne(port, upstream_url)
        try:
            warm_up = prepare_users(1, 5, "warm")
            asyncio.run(run_round(port, warm_up))
            for memories in MEMORIES_PER_USER:
                for concurrency in options.concurrency:
                    prepared = prepare_users(concurrency, memories, f"m{memories}n{concurrency}")
                    with (
                        ProcessSampler(daphne.pid) as server,
                        ProcessSampler(os.getpid()) as clients,
                    ):
                        results = asyncio.run(run_round(port, prepared, options.spread))
                    rows.append(
                        summarise(concurrency, memories, results, server, upstream_ttft_ms)
                        | {"load_generator_cpu_percent": clients.cpu_percent()}
                        | verify(results)
                    )
                    row = rows[-1]
                    added = row["added_ttft"]
                    print(
                        f"N={concurrency:>3} memories={memories}: added TTFT p50 "
                        f"{added['p50_ms']:.1f} ms p95 {added['p95_ms']:.1f} ms, "
                        f"errors {row['errors']}, lost {row['lost_user_messages']}"
                        f"/{row['lost_answers']}",
                        flush=True,
                    )
        finally:
            daphne.terminate()
            daphne.wait(timeout=30)
    finally:
        ours.send("stop")
        upstream.join(timeout=30)

    print()
    harness.print_table(
        [
            "N",
            "memories",
            "added TTFT p50",
            "p95",
            "ack p95",
            "gap p50",
            "gap p95",
            "frames/s",
            "errors",
            "lost",
            "server CPU %",
            "peak RSS MiB",
            "client CPU %",
        ],
        [
            [
                r["concurrency"],
                r["memories_per_user"],
                r["added_ttft"]["p50_ms"],
                r["added_ttft"]["p95_ms"],
                r["ack"]["p95_ms"],
                r["frame_gap"]["p50_ms"],
                r["frame_gap"]["p95_ms"],
                r["frames_per_second_per_chat"],
                r["errors"],
                r["lost_user_messages"] + r["lost_answers"],
                r["server_cpu_percent"],
                r["server_peak_rss_mib"],
                r["load_generator_cpu_percent"],
            ]
            for r in rows
        ],
    )
    spread = f"_spread{options.spread:g}s" if options.spread else ""
    harness.write_results(
        f"streaming_load_{database}{spread}",
        {
            "database": database,
            "send_spread_s": options.spread,
            "tasks_backend": "django_tasks.backends.dummy.DummyBackend",
            "answer_words": ANSWER_WORDS,
            "upstream_word_delay_s": WORD_DELAY_SECONDS,
            "upstream_first_delta": harness.latency_summary(upstream_ttft),
            "results": rows,
        },
    )


def summarise(concurrency, memories, results, sampler, upstream_ttft_ms) -> dict:
    done = [r for r in results if r["error"] is None]
    ttft = [r["ttft"] for r in done]
    added = harness.latency_summary(ttft)
    for key in ("p50_ms", "p95_ms", "mean_ms"):
        added[key] = round(added[key] - upstream_ttft_ms, 3)
    return {
        "concurrency": concurrency,
        "memories_per_user": memories,
        "ttft": harness.latency_summary(ttft),
        "added_ttft": added,
        "ack": harness.latency_summary([r["ack"] for r in done]),
        "answer_total": harness.latency_summary([r["total"] for r in done]),
        "frame_gap": harness.latency_summary([gap for r in done for gap in r["gaps"]]),
        "frames_per_second_per_chat": round(
            float(np.mean([r["frames_per_second"] for r in done])) if done else 0.0, 1
        ),
        "errors": len(results) - len(done),
        "error_samples": sorted({r["error"] for r in results if r["error"]})[:5],
        "server_cpu_seconds": round(sampler.used_cpu, 2),
        "server_cpu_percent": sampler.cpu_percent(),
        "server_peak_rss_mib": round(sampler.peak_rss_mib, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
