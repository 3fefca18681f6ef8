"""Resident memory of one Daphne web process: warm, after 200 users' typed turns, after voice.

    .venv/bin/python bench/process_memory.py [--baseline REV] [--database-url URL]

First, in a fresh process, loads a web process's pieces one after another (Django and the apps,
what config.asgi imports, the embedding model, the speech libraries and models, speech in and
out) and reads /proc/self/smaps_rollup after each. Then runs one web process at a time, as
deploy/scale-out starts it (`python -m config.serve`, Redis channel layer, DEBUG=false,
DummyBackend tasks so extraction never runs in it), for this working tree and, with --baseline,
for the commit REV (exported with `git archive` into a scratch folder and run with the same
.venv), so the two are compared side by side in one run on one machine. Each process: RSS 10 s
after /ready/ answers 200; 200 users (5 memories each, so every turn embeds its message and
searches) open a chat socket and all send at once, then each sends again at a random moment
within 10 s; then one offline voice session speaks a sentence and hears the answer (RSS with the
session open, and 3 s after it closed). The upstream is tests/upstream.py's ResponsesServer in a
process of its own. PostgreSQL (--database-url) runs turns on CHAT_TURN_THREADS threads as in
the scale-out setup; the default scratch SQLite runs them on one.
"""

import argparse
import asyncio
import importlib
import io
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import harness
from streaming_load import (
    ANSWER,
    FINAL,
    FRAME_TIMEOUT_SECONDS,
    free_port,
    prepare_users,
    serve_upstream,
)

USERS = 200
MEMORIES_PER_USER = 5
SPREAD_SECONDS = 10.0
SETTLE_SECONDS = 10.0
VOICE_END_SECONDS = 3.0
RSS_LIMIT_MIB = 400
VOICE_SENTENCE = "I live in Porto and I prefer window seats on the train."
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
SCRATCH_DIR = Path("/tmp/recall-bench-memory")


def memory_of(pid: int) -> dict[str, float]:
    """RSS, PSS, anonymous memory and the file-backed part of RSS (shared libraries, models'
    mapped files), in MiB, from /proc/<pid>/smaps_rollup."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1]) / 1024
    return {
        "rss_mib": round(fields["Rss"], 1),
        "pss_mib": round(fields["Pss"], 1),
        "anonymous_mib": round(fields["Anonymous"], 1),
        "file_backed_mib": round(fields["Rss"] - fields["Anonymous"], 1),
    }


def export_tree(revision: str) -> Path:
    """The files of `revision`, as `git archive` gives them, in a scratch folder."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision],
        cwd=harness.REPO_DIR,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    tree = SCRATCH_DIR / commit
    if not tree.exists():
        SCRATCH_DIR.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit],
            cwd=harness.REPO_DIR,
            check=True,
            capture_output=True,
        ).stdout
        staging = SCRATCH_DIR / f"{commit}.partial"
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(staging, filter="data")
        staging.rename(tree)
    return tree


class WebProcess:
    """One Daphne process of the code in `tree`, started as deploy/scale-out starts each."""

    def __init__(self, tree: Path, upstream_url: str, label: str) -> None:
        self.tree = tree
        self.port = free_port()
        self.log = Path(f"/tmp/recall-bench-memory-{label}.log")
        self.env = {
            **os.environ,
            "REDIS_URL": REDIS_URL,
            "OPENAI_BASE_URL": upstream_url,
            "OPENAI_API_KEY": "bench",
            "OPENAI_MODEL": "bench-model",
            "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
            "CHAT_TURNS_PER_MINUTE": "1000000",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "false",
            "VOICE_ENABLED": "true",
            # The upstream is a Responses server: voice must be the offline engine, not Realtime.
            "VOICE_ENGINE": "offline",
        }

    def __enter__(self) -> "WebProcess":
        self.process = subprocess.Popen(
            [
                str(harness.REPO_DIR / ".venv/bin/python"),
                *("-m", "config.serve", "-b", "127.0.0.1", "-p", str(self.port)),
                "config.asgi:application",
            ],
            cwd=self.tree,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
        )
        deadline = time.monotonic() + 120
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the web process did not get ready; see {self.log}")
            time.sleep(0.2)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready/", timeout=5) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def memory(self) -> dict[str, float]:
        return memory_of(self.process.pid)


async def connect(port: int, path: str, cookie: str):
    from websockets.asyncio.client import connect as open_socket

    return await open_socket(
        f"ws://127.0.0.1:{port}{path}",
        origin=f"http://127.0.0.1:{port}",
        additional_headers={"Cookie": f"sessionid={cookie}"},
        open_timeout=FRAME_TIMEOUT_SECONDS,
        max_queue=None,
    )


async def one_turn(websocket, text: str, delay: float) -> bool:
    """Send `text` after `delay` s; whether its answer ended."""
    await asyncio.sleep(delay)
    await websocket.send(json.dumps({"message": text}))
    try:
        while FINAL not in await asyncio.wait_for(websocket.recv(), FRAME_TIMEOUT_SECONDS):
            pass
    except (TimeoutError, OSError):
        return False
    return True


async def typed_rounds(port: int, prepared: list) -> list[int]:
    """Every user sends at once, then again within SPREAD_SECONDS; answers missing per round."""
    sockets = []
    for start in range(0, len(prepared), 20):
        sockets += await asyncio.gather(
            *(
                connect(port, f"/ws/chat/{chat[0]}/", chat[1])
                for chat in prepared[start : start + 20]
            )
        )
    chance = random.Random(7)
    missing = []
    try:
        for number, spread in enumerate((0.0, SPREAD_SECONDS)):
            ended = await asyncio.gather(
                *(
                    one_turn(socket, f"{text} (round {number})", chance.uniform(0, spread))
                    for socket, (_, _, text) in zip(sockets, prepared, strict=True)
                )
            )
            missing.append(ended.count(False))
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    return missing


async def voice_session(port: int, conversation_id: int, cookie: str, pcm: bytes, pid: int) -> dict:
    """Speak `pcm` (16 kHz PCM16) at real time, wait for the spoken answer, and end the session;
    the web process's memory with the session still open."""
    websocket = await connect(port, f"/ws/voice/{conversation_id}/", cookie)
    try:
        started = time.perf_counter()
        await websocket.send(json.dumps({"type": "start", "sample_rate": 16_000}))
        events = []

        async def next_event(kind: str) -> dict:
            while True:
                frame = await asyncio.wait_for(websocket.recv(), FRAME_TIMEOUT_SECONDS)
                if isinstance(frame, str):
                    event = json.loads(frame)
                    events.append(event["type"])
                    if event["type"] == "error":
                        raise RuntimeError(event["message"])
                    if event["type"] == kind:
                        return event

        await next_event("ready")
        ready_seconds = time.perf_counter() - started
        step = 3200  # 0.1 s
        audio = pcm + b"\0\0" * 16_000
        for offset in range(0, len(audio), step):
            await websocket.send(audio[offset : offset + step])
            await asyncio.sleep(0.1)
        turn = await next_event("turn_started")
        await next_event("answer_spoken")
        return {
            "ready_seconds": round(ready_seconds, 2),
            "transcript": turn["transcript"],
            "session_open": memory_of(pid),
        }
    finally:
        await websocket.close()


def measure(tree: Path, label: str, upstream_url: str, pcm: bytes) -> dict:
    prepared = prepare_users(USERS, MEMORIES_PER_USER, f"{label}-{uuid.uuid4().hex[:6]}")
    with WebProcess(tree, upstream_url, label) as web:
        time.sleep(SETTLE_SECONDS)
        row = {"ready_plus_10s": web.memory()}
        started = time.perf_counter()
        row["unanswered_per_round"] = asyncio.run(typed_rounds(web.port, prepared))
        row["typed_seconds"] = round(time.perf_counter() - started, 1)
        row["after_200_users"] = web.memory()
        row["voice"] = asyncio.run(voice_session(web.port, *prepared[0][:2], pcm, web.process.pid))
        # The server ends the session when it sees the socket close.
        time.sleep(VOICE_END_SECONDS)
        row["after_voice"] = web.memory()
    print(
        f"{label}: ready+10s {row['ready_plus_10s']['rss_mib']} MiB, after {USERS} users "
        f"{row['after_200_users']['rss_mib']} MiB (unanswered {row['unanswered_per_round']}), "
        f"during a voice session {row['voice']['session_open']['rss_mib']} MiB, "
        f"after it {row['after_voice']['rss_mib']} MiB "
        f"(ready in {row['voice']['ready_seconds']} s, heard {row['voice']['transcript']!r})",
        flush=True,
    )
    return row


def breakdown(connection) -> None:
    """What each piece of a web process adds to its memory, loaded one after another in a fresh
    process of this tree's code (sent back as rows)."""
    rows = []

    def step(label: str) -> None:
        rows.append((label, memory_of(os.getpid())))

    step("interpreter, numpy and this script")
    import django

    django.setup()
    step("django.setup(): settings, the apps and their models")
    for module in ("config.urls", "chat.routing", "api.mcp_server"):
        importlib.import_module(module)
    step("URLs, consumers, MCP server, openai SDK (what config.asgi imports)")
    from memories import embeddings

    embeddings.embed_text("What should I do this weekend?")
    step("onnxruntime, tokenizers and the int8 embedding model, one embedding")
    for module in ("faster_whisper", "ctranslate2", "piper", "av"):
        importlib.import_module(module)
    step("speech libraries imported: faster-whisper, CTranslate2, Piper, PyAV")
    from chat.voice import speech

    speech._whisper()
    step("Whisper tiny.en loaded (int8)")
    speech._piper()
    step("Piper joe-medium loaded")
    pcm = speech.synthesize(VOICE_SENTENCE, steady=True)
    speech.transcribe(speech.resample(pcm, speech.output_sample_rate(), speech.INPUT_SAMPLE_RATE))
    step("one short sentence synthesised and transcribed")
    speech.synthesize(ANSWER, steady=True)
    step("the benchmark's answer synthesised (40 words, one sentence, 29 s)")
    speech.release_free_memory()
    step("after speech.release_free_memory()")
    rows.append(("torch imported", "torch" in sys.modules))
    connection.send(rows)


def print_breakdown(steps: list, torch_imported: bool) -> None:
    rows, last = [], {"rss_mib": 0.0, "anonymous_mib": 0.0}
    for label, memory in steps:
        rows.append(
            [
                label,
                memory["rss_mib"],
                round(memory["rss_mib"] - last["rss_mib"], 1),
                round(memory["anonymous_mib"] - last["anonymous_mib"], 1),
            ]
        )
        last = memory
    harness.print_table(["step", "RSS MiB", "added", "of it anonymous"], rows)
    print(f"torch imported: {torch_imported}\n", flush=True)


def spoken_sentence() -> bytes:
    from chat.voice import speech

    pcm = speech.synthesize(VOICE_SENTENCE, steady=True)
    return speech.resample(pcm, speech.output_sample_rate(), speech.INPUT_SAMPLE_RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a commit to measure too, e.g. main")
    parser.add_argument(
        "--database-url", help="an existing PostgreSQL database (default: a scratch SQLite file)"
    )
    options = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    if options.database_url:
        # Not a scratch database: users get a fresh label each run, so runs do not collide.
        os.environ["DATABASE_URL"] = options.database_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        os.environ.setdefault("DATA_DIR", "/tmp/recall-bench-data-memory")
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        sys.path.insert(0, str(harness.REPO_DIR))
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
    else:
        harness.setup_django("memory")
    trees = {"this tree": harness.REPO_DIR}
    if options.baseline:
        trees = {f"baseline {options.baseline}": export_tree(options.baseline), **trees}
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    pieces = spawn.Process(target=breakdown, args=(theirs,))
    pieces.start()
    *steps, (_, torch_imported) = ours.recv()
    pieces.join()
    print_breakdown(steps, torch_imported)
    pcm = spoken_sentence()
    ours, theirs = spawn.Pipe()
    upstream = spawn.Process(target=serve_upstream, args=(theirs, 4 * USERS * len(trees)))
    upstream.start()
    rows = {}
    try:
        upstream_url = ours.recv()
        for label, tree in trees.items():
            rows[label] = measure(tree, label.replace(" ", "-"), upstream_url, pcm)
    finally:
        ours.send("stop")
        upstream.join(timeout=30)
    print()
    harness.print_table(
        [
            "code",
            "ready+10s RSS",
            f"after {USERS} users",
            "voice session open",
            "after it",
            "anon",
            "file",
            "voice ready s",
        ],
        [
            [
                label,
                row["ready_plus_10s"]["rss_mib"],
                row["after_200_users"]["rss_mib"],
                row["voice"]["session_open"]["rss_mib"],
                row["after_voice"]["rss_mib"],
                row["after_voice"]["anonymous_mib"],
                row["after_voice"]["file_backed_mib"],
                row["voice"]["ready_seconds"],
            ]
            for label, row in rows.items()
        ],
    )
    harness.write_results(
        "process_memory",
        {
            "breakdown": [{"step": label, **memory} for label, memory in steps],
            "torch_imported": torch_imported,
            "database": "postgresql" if options.database_url else "sqlite",
            "channel_layer": "redis",
            "users": USERS,
            "memories_per_user": MEMORIES_PER_USER,
            "rss_limit_mib": RSS_LIMIT_MIB,
            "runs": rows,
        },
    )


if __name__ == "__main__":
    sys.exit(main())
