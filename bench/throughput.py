"""Sustained chat turns a second for 1 and 2 Daphne processes behind nginx, and a 200-message burst.

    .venv/bin/python bench/throughput.py [--processes 1 2] [--step-seconds 8]

deploy/scale-out starts the web processes (PostgreSQL, Redis, nginx) in a private RUN_DIR, on
private ports, with a scratch database; the upstream is tests/upstream.py's ResponsesServer in a
process of its own, streaming a 40-word answer one word every 20 ms. 200 users, each with 5
memories (so every turn embeds its message and searches), keep a websocket open to their
conversation. Per process count: first all 200 send at the same instant (the burst), then
messages arrive as a Poisson process at rising rates; each step sends for `--step-seconds` to
chats that are not waiting for an answer, and passes when every answer started and the added
TTFT p95 (first delta seen by the client, less the upstream's own time to first delta) stays
under 100 ms. The ramp stops at the second failed step. Tasks use DummyBackend: extraction is
enqueued, never run, so only the chat path is measured.
"""

import asyncio
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import harness
from streaming_load import (
    FINAL,
    FIRST_DELTA,
    FRAME_TIMEOUT_SECONDS,
    ProcessSampler,
    free_port,
    prepare_users,
    serve_upstream,
    upstream_first_delta_seconds,
)

CHATS = 200
MEMORIES_PER_USER = 5
RATES = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60)
ADDED_TTFT_LIMIT_MS = 100
BURST_LIMIT_MS = 500
RSS_LIMIT_MIB = 400
# Enough paced answers for every step at every rate; more would be answered unpaced.
UPSTREAM_ANSWERS = 20_000
IDLE_SECONDS = 3
RUN_DIR = "/tmp/recall-bench-throughput"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


@dataclass(eq=False)
class Chat:
    """One open page of a conversation, and the answer it is waiting for (if any)."""

    conversation_id: int
    cookie: str
    text: str
    websocket: object = None
    sent_at: float | None = None
    # Where the TTFT of the answer waited for goes (the list of the step that sent it).
    ttfts: list[float] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    turns: int = 0

    @property
    def idle(self) -> bool:
        return self.sent_at is None

    async def send(self, ttfts: list[float]) -> None:
        self.turns += 1
        self.ttfts = ttfts
        self.answered.clear()
        self.first_delta_seen = False
        self.sent_at = time.perf_counter()
        # One clause, like streaming_load's text: recall embeds it once.
        text = self.text.replace(":", f" turn {self.turns}:", 1)
        await self.websocket.send(json.dumps({"message": text}))

    async def read(self) -> None:
        async for frame in self.websocket:
            if self.sent_at is None:
                continue
            if not self.first_delta_seen and FIRST_DELTA in frame:
                self.first_delta_seen = True
                self.ttfts.append(time.perf_counter() - self.sent_at)
            if FINAL in frame:
                self.sent_at = None
                self.answered.set()


class ScaleOut:
    """deploy/scale-out with N web processes and no task workers, on private ports."""

    def __init__(self, processes: int, upstream_url: str) -> None:
        self.processes = processes
        self.port = free_port()
        self.env = {
            **os.environ,
            "WEB_PROCESSES": str(processes),
            "WORKERS": "0",
            "PORT": str(self.port),
            "FIRST_WEB_PORT": str(_free_ports(processes)),
            "RUN_DIR": RUN_DIR,
            "STATIC_ROOT": f"{RUN_DIR}/static",
            "REDIS_URL": REDIS_URL,
            "OPENAI_BASE_URL": upstream_url,
            "OPENAI_API_KEY": "bench",
            "OPENAI_MODEL": "bench-model",
            "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
            # The ramp sends each user far more than the default 20 turns a minute.
            "CHAT_TURNS_PER_MINUTE": "1000000",
            "DEBUG": "false",
            "PATH": f"{os.environ['PATH']}:/usr/sbin",
        }

    def __enter__(self) -> "ScaleOut":
        self._run("start")
        self.pids = []
        for number in range(1, self.processes + 1):
            with open(f"{RUN_DIR}/web-{number}.pid") as pid:
                self.pids.append(int(pid.read()))
        return self

    def __exit__(self, *exc: object) -> None:
        self._run("stop")

    def _run(self, command: str) -> None:
        subprocess.run(
            [str(harness.REPO_DIR / "deploy/scale-out"), command],
            cwd=harness.REPO_DIR,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def _free_ports(count: int) -> int:
    """A port with `count` free ports from it on."""
    while True:
        first = free_port()
        if all(_port_is_free(first + n) for n in range(count)):
            return first


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def open_chats(port: int, prepared: list) -> list[Chat]:
    from websockets.asyncio.client import connect

    chats = [Chat(*chat) for chat in prepared]

    async def open_one(chat: Chat) -> None:
        chat.websocket = await connect(
            f"ws://127.0.0.1:{port}/ws/chat/{chat.conversation_id}/",
            origin=f"http://127.0.0.1:{port}",
            additional_headers={"Cookie": f"sessionid={chat.cookie}"},
            open_timeout=FRAME_TIMEOUT_SECONDS,
            max_queue=None,
        )
        chat.reader = asyncio.create_task(chat.read())

    # A few at a time: 200 handshakes at once would be a burst of their own.
    for start in range(0, len(chats), 20):
        await asyncio.gather(*(open_one(chat) for chat in chats[start : start + 20]))
    return chats


async def close_chats(chats: list[Chat]) -> None:
    await asyncio.gather(*(chat.websocket.close() for chat in chats), return_exceptions=True)


async def answers_of(chats: list[Chat]) -> int:
    """Wait for the answers `chats` are waiting for; how many never came."""
    waiting = [chat for chat in chats if not chat.idle]
    if waiting:
        await asyncio.wait(
            [asyncio.create_task(chat.answered.wait()) for chat in waiting],
            timeout=FRAME_TIMEOUT_SECONDS,
        )
    return sum(1 for chat in waiting if not chat.idle)


async def burst(chats: list[Chat]) -> dict:
    """Every chat sends at the same instant."""
    ttfts: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(chat.send(ttfts) for chat in chats))
    unanswered = await answers_of(chats)
    return {
        "sent": len(chats),
        "ttfts": ttfts,
        "unanswered": unanswered,
        "seconds": time.perf_counter() - started,
    }


async def poisson_step(chats: list[Chat], rate: float, seconds: float, seed: int) -> dict:
    """Messages at `rate` a second for `seconds`, each to a random chat not waiting for one."""
    chance = random.Random(seed)
    ttfts: list[float] = []
    sent = no_idle_chat = 0
    started = due = time.perf_counter()
    while True:
        due += chance.expovariate(rate)
        if due - started >= seconds:
            break
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        idle = [chat for chat in chats if chat.idle]
        if not idle:
            no_idle_chat += 1
            continue
        await chance.choice(idle).send(ttfts)
        sent += 1
    unanswered = await answers_of(chats)
    return {
        "sent": sent,
        "ttfts": ttfts,
        "unanswered": unanswered,
        "no_idle_chat": no_idle_chat,
        "seconds": time.perf_counter() - started,
    }


def added_ttft(ttfts: list[float], upstream_ttft_s: float) -> dict:
    summary = harness.latency_summary(ttfts)
    for key in ("p50_ms", "p95_ms", "mean_ms"):
        summary[key] = round(summary[key] - upstream_ttft_s * 1000, 1)
    return summary


class Samplers:
    """CPU and peak RSS of the web processes, the load generator and the upstream, over a window."""

    def __init__(self, web_pids: list[int], upstream_pid: int) -> None:
        self.web = [ProcessSampler(pid) for pid in web_pids]
        self.load_generator = ProcessSampler(os.getpid())
        self.upstream = ProcessSampler(upstream_pid)

    def __enter__(self) -> "Samplers":
        for sampler in self.all():
            sampler.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for sampler in self.all():
            sampler.__exit__(*exc)

    def all(self) -> list[ProcessSampler]:
        return [*self.web, self.load_generator, self.upstream]

    def summary(self, turns: int) -> dict:
        web_cpu = sum(sampler.used_cpu for sampler in self.web)
        return {
            "web_cpu_percent": [sampler.cpu_percent() for sampler in self.web],
            "web_cpu_ms_per_turn": round(1000 * web_cpu / turns, 1) if turns else None,
            "web_peak_rss_mib": [round(sampler.peak_rss_mib, 1) for sampler in self.web],
            "load_generator_cpu_percent": self.load_generator.cpu_percent(),
            "upstream_cpu_percent": self.upstream.cpu_percent(),
        }


async def measure(
    port: int,
    prepared: list,
    web_pids: list[int],
    upstream_pid: int,
    upstream_ttft_s: float,
    step_seconds: float,
) -> dict:
    chats = await open_chats(port, prepared)
    try:
        # Each process loads its embedding model and opens its connections on its first turns.
        warm_up = {"ttfts": []}
        for chat in chats[:10]:
            await chat.send(warm_up["ttfts"])
            await answers_of([chat])
        # What 200 open, quiet sockets cost, to tell it apart from what the turns cost.
        with Samplers(web_pids, upstream_pid) as samplers:
            await asyncio.sleep(IDLE_SECONDS)
        idle_row = samplers.summary(0)
        print(f"  idle, {len(chats)} sockets open: web CPU {idle_row['web_cpu_percent']} %")
        with Samplers(web_pids, upstream_pid) as samplers:
            result = await burst(chats)
        burst_row = {
            "sent": result["sent"],
            "unanswered": result["unanswered"],
            "added_ttft": added_ttft(result["ttfts"], upstream_ttft_s),
            "seconds": round(result["seconds"], 2),
            **samplers.summary(result["sent"]),
            "web_rss_mib_after": [round(sampler.rss_mib(), 1) for sampler in samplers.web],
        }
        print(
            f"  burst of {result['sent']}: added TTFT p95 {burst_row['added_ttft']['p95_ms']} ms, "
            f"unanswered {result['unanswered']}, RSS {burst_row['web_rss_mib_after']} MiB",
            flush=True,
        )
        steps = []
        failures = 0
        for number, rate in enumerate(RATES):
            with Samplers(web_pids, upstream_pid) as samplers:
                result = await poisson_step(chats, rate, step_seconds, seed=number)
            added = added_ttft(result["ttfts"], upstream_ttft_s)
            answered = len(result["ttfts"])
            passed = (
                result["unanswered"] == 0
                and result["no_idle_chat"] == 0
                and answered == result["sent"]
                and added["p95_ms"] < ADDED_TTFT_LIMIT_MS
            )
            steps.append(
                {
                    "offered_rate": rate,
                    "sent": result["sent"],
                    "achieved_rate": round(answered / step_seconds, 1),
                    "unanswered": result["unanswered"],
                    "no_idle_chat": result["no_idle_chat"],
                    "added_ttft": added,
                    "passed": passed,
                    **samplers.summary(answered),
                }
            )
            row = steps[-1]
            print(
                f"  {rate:>3}/s: sent {row['sent']}, added TTFT p50 {added['p50_ms']} "
                f"p95 {added['p95_ms']} ms, unanswered {row['unanswered']}, web CPU "
                f"{row['web_cpu_percent']} % ({row['web_cpu_ms_per_turn']} ms/turn), "
                f"{'pass' if passed else 'FAIL'}",
                flush=True,
            )
            failures += not passed
            if failures == 2:
                break
        passing = [step for step in steps if step["passed"]]
        return {
            "idle": idle_row,
            "burst": burst_row,
            "steps": steps,
            "sustained_turns_per_s": max((s["offered_rate"] for s in passing), default=0),
        }
    finally:
        await close_chats(chats)


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--step-seconds", type=float, default=8.0)
    options = parser.parse_args()
    load_before = os.getloadavg()
    harness.setup_django("throughput", postgres=True)
    started = time.perf_counter()
    prepared = prepare_users(CHATS, MEMORIES_PER_USER, "chat")
    elapsed = time.perf_counter() - started
    print(f"{CHATS} users with {MEMORIES_PER_USER} memories each in {elapsed:.0f} s")
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    upstream = spawn.Process(target=serve_upstream, args=(theirs, UPSTREAM_ANSWERS))
    upstream.start()
    runs = {}
    try:
        upstream_url = ours.recv()
        upstream_ttft = upstream_first_delta_seconds(upstream_url)
        upstream_ttft_s = harness.percentile(upstream_ttft, 50)
        print(f"upstream's own first delta: p50 {upstream_ttft_s * 1000:.2f} ms")
        for processes in options.processes:
            print(f"{processes} web process(es):", flush=True)
            with ScaleOut(processes, upstream_url) as scale_out:
                runs[processes] = asyncio.run(
                    measure(
                        scale_out.port,
                        prepared,
                        scale_out.pids,
                        upstream.pid,
                        upstream_ttft_s,
                        options.step_seconds,
                    )
                )
    finally:
        ours.send("stop")
        upstream.join(timeout=30)
    print()
    harness.print_table(
        [
            "web processes",
            "sustained turns/s",
            "burst added TTFT p95 ms",
            "burst unanswered",
            "RSS after burst MiB",
            "web CPU ms/turn at best step",
        ],
        [
            [
                processes,
                run["sustained_turns_per_s"],
                run["burst"]["added_ttft"]["p95_ms"],
                run["burst"]["unanswered"],
                run["burst"]["web_rss_mib_after"],
                best_step(run).get("web_cpu_ms_per_turn"),
            ]
            for processes, run in runs.items()
        ],
    )
    if 1 in runs and 2 in runs and runs[1]["sustained_turns_per_s"]:
        ratio = runs[2]["sustained_turns_per_s"] / runs[1]["sustained_turns_per_s"]
        print(f"2 processes / 1: {ratio:.2f}x")
    harness.write_results(
        "throughput",
        {
            "database": "postgresql",
            "channel_layer": "redis",
            "chats": CHATS,
            "memories_per_user": MEMORIES_PER_USER,
            "step_seconds": options.step_seconds,
            "added_ttft_limit_ms": ADDED_TTFT_LIMIT_MS,
            "upstream_word_delay_s": 0.02,
            "upstream_first_delta": harness.latency_summary(upstream_ttft),
            "tasks_backend": "django_tasks.backends.dummy.DummyBackend",
            # The machine is shared: how busy it was says how far to trust the latencies.
            "load_average_before_and_after": [load_before, os.getloadavg()],
            "runs": {str(processes): run for processes, run in runs.items()},
        },
    )


def best_step(run: dict) -> dict:
    passing = [step for step in run["steps"] if step["passed"]]
    return max(passing, key=lambda step: step["offered_rate"]) if passing else {}


if __name__ == "__main__":
    sys.exit(main())
