"""Seconds from an answer's completion to its memory being visible on the dashboard, warm.

    .venv/bin/python bench/memory_visible_latency.py [--samples 20] [--postgres]

Runs what `make run` runs, as separate processes (runserver, and db_worker polling every 0.2 s),
on a scratch database with the offline model, waits until both say they are warm, then, as a
browser would: signs up, opens a chat over the websocket, states a new fact, and from the frame
that completes the answer, reloads the dashboard until the fact is listed. Target: p95 < 1.5 s.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import harness
import httpx
from websockets.sync.client import connect

sys.path.insert(0, str(harness.REPO_DIR))

from tests.processes import free_port, wait_for_port

TARGET_P95_SECONDS = 1.5
POLL_SECONDS = 0.05
PASSWORD = "a long enough bench passphrase 42"
# Unrelated facts: similar ones ("Likes pastry 1", "Likes pastry 2") would merge into one memory.
LIKES = [
    "sailing", "chess", "origami", "pottery", "jazz", "kayaking", "sushi", "birdwatching",
    "calligraphy", "rock climbing", "knitting", "astronomy", "tango", "beekeeping", "fencing",
    "gardening", "crossword puzzles", "surfing", "opera", "cycling",
]  # fmt: skip


def start_processes(database_url: str, port: int, log_dir: Path) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": "bench-only-not-secret",
        "DATA_DIR": str(log_dir),
        "DATABASE_URL": database_url,
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
        "OFFLINE_MODEL_TOKEN_DELAY_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, str(harness.REPO_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    commands = {
        "worker": [*manage, "db_worker", "--interval", "0.2", "--no-reload"],
        "web": [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
    }
    processes = [
        subprocess.Popen(
            command, env=env, stdout=(log_dir / f"{name}.log").open("w"), stderr=subprocess.STDOUT
        )
        for name, command in commands.items()
    ]
    wait_for_port(port, processes[1])
    started = time.monotonic()
    subprocess.run([*manage, "wait_until_warm", f"http://127.0.0.1:{port}"], env=env, check=True)
    print(f"both processes warm {time.monotonic() - started:.1f} s after the web one listened")
    return processes


def sign_up(client: httpx.Client) -> None:
    client.get("/accounts/signup/")
    client.post(
        "/accounts/signup/",
        data={
            "username": "bench",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    ).raise_for_status()


def new_conversation(client: httpx.Client) -> int:
    response = client.post("/c/new/", data={"csrfmiddlewaretoken": client.cookies["csrftoken"]})
    return int(re.search(r"/c/(\d+)/$", str(response.url)).group(1))


def memory_visible_seconds(client: httpx.Client, socket, fact: str, shown_as: str) -> float:
    socket.send(json.dumps({"message": fact}))
    while "message--assistant message--complete" not in socket.recv(timeout=60):
        pass
    completed = time.monotonic()
    while shown_as not in client.get("/memories/").text:
        if time.monotonic() - completed > 30:
            raise TimeoutError(f"{shown_as!r} never reached the dashboard")
        time.sleep(POLL_SECONDS)
    return time.monotonic() - completed


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=len(LIKES), choices=range(1, 21))
    options = parser.parse_args()
    database_url = harness.scratch_database_url("memory_visible", options.postgres)
    log_dir = Path("/tmp/recall-bench-memory-visible")
    log_dir.mkdir(exist_ok=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    processes = start_processes(database_url, port, log_dir)
    try:
        with httpx.Client(base_url=base_url, follow_redirects=True, timeout=30) as client:
            sign_up(client)
            conversation = new_conversation(client)
            cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
            with connect(
                f"ws://127.0.0.1:{port}/ws/chat/{conversation}/",
                additional_headers={"Cookie": cookies, "Origin": base_url},
            ) as socket:
                seconds = [
                    memory_visible_seconds(client, socket, f"I like {like}.", f"Likes {like}")
                    for like in LIKES[: options.samples]
                ]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
    summary = harness.latency_summary(seconds)
    harness.print_table(
        ["database", "samples", "p50 s", "p95 s", "max s", "target p95 s"],
        [
            [
                "postgresql" if options.postgres else "sqlite",
                summary["n"],
                summary["p50_ms"] / 1000,
                summary["p95_ms"] / 1000,
                max(seconds),
                TARGET_P95_SECONDS,
            ]
        ],
    )
    harness.write_results(
        f"memory_visible_latency_{'postgresql' if options.postgres else 'sqlite'}",
        {
            "target_p95_seconds": TARGET_P95_SECONDS,
            "worker_poll_interval_seconds": 0.2,
            "summary": summary,
            "seconds": [round(value, 4) for value in seconds],
        },
    )


if __name__ == "__main__":
    main()
