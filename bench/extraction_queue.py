"""How long one user's memory extraction waits behind another user's hung model call.

    .venv/bin/python bench/extraction_queue.py [--postgres]

Real `manage.py db_worker` processes on a scratch SQLite database; the upstream is
tests/upstream.py's server, whose first extraction call hangs (no byte sent) for HANG_SECONDS.
Once the hung call has started, a second user's turn is queued, and the time until its
extraction is done is measured: with one worker and the SDK's long timeout, one worker and our
short timeout, and two workers.
"""

import os
import subprocess
import sys
import time

import harness

HANG_SECONDS = 300
# How long the bench waits for the second extraction before calling it stuck.
GIVE_UP_SECONDS = 90
SCENARIOS = [
    # (workers, MEMORY_EXTRACTION_TIMEOUT_SECONDS)
    (1, 600),
    (1, 10),
    (2, 30),
]


def start_workers(count: int, timeout: float, upstream_url: str) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "OPENAI_BASE_URL": upstream_url,
        "OPENAI_API_KEY": "bench",
        "OPENAI_MODEL": "bench-model",
        "MEMORY_EXTRACTION_TIMEOUT_SECONDS": str(timeout),
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    }
    command = [sys.executable, str(harness.REPO_DIR / "manage.py"), "db_worker", "--no-reload"]
    return [
        subprocess.Popen(
            [*command, "--no-startup-delay", "--interval", "0.1"],
            env=env,
            cwd=harness.REPO_DIR,
            stdout=open(f"/tmp/recall-bench-extraction-worker-{n}.log", "w"),
            stderr=subprocess.STDOUT,
        )
        for n in range(count)
    ]


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def run(workers: int, timeout: float, upstream) -> float | None:
    from django_tasks_db.models import DBTaskResult

    from accounts.models import User
    from chat.models import Conversation, Message
    from memories import tasks
    from memories.models import ExtractionRun
    from tests.upstream import Hang

    ExtractionRun.objects.all().delete()
    DBTaskResult.objects.all().delete()
    upstream.reset()

    def turn(username: str) -> ExtractionRun:
        owner = User.objects.create_user(username=username)
        conversation = Conversation.objects.create(owner=owner)
        Message.objects.create(conversation=conversation, role="user", content="My cat is Tom.")
        answer = Message.objects.create(conversation=conversation, role="assistant", content="!")
        return tasks.schedule_extraction(answer)

    def done(run: ExtractionRun) -> bool:
        run.refresh_from_db()
        return run.status == ExtractionRun.Status.DONE

    started = start_workers(workers, timeout, upstream.base_url)
    try:
        # Warm up: each worker has imported mem0 and answered once before the measurement.
        warm = [turn(f"warm-{workers}-{timeout}-{n}") for n in range(workers)]
        assert wait_until(lambda: all(done(run) for run in warm), 600), "workers did not start"
        upstream.script_chat(Hang(HANG_SECONDS))
        turn(f"hung-{workers}-{timeout}")
        assert wait_until(lambda: len(upstream.chat_bodies()) == workers + 1, 30)
        queued_at = time.perf_counter()
        waiting = turn(f"waiting-{workers}-{timeout}")
        if not wait_until(lambda: done(waiting), GIVE_UP_SECONDS):
            return None
        return time.perf_counter() - queued_at
    finally:
        for worker in started:
            worker.kill()
            worker.wait(timeout=10)


def main() -> None:
    options = harness.arguments(__doc__.splitlines()[0]).parse_args()
    harness.setup_django("extraction_queue", options.postgres)
    database = "postgres" if options.postgres else "sqlite"
    from tests.upstream import ResponsesServer

    rows = []
    with ResponsesServer() as upstream:
        for workers, timeout in SCENARIOS:
            waited = run(workers, timeout, upstream)
            rows.append({"workers": workers, "timeout_s": timeout, "waited_s": waited})
            shown = f"{waited:.2f} s" if waited is not None else f"> {GIVE_UP_SECONDS} s"
            print(f"{workers} worker(s), timeout {timeout} s: waited {shown}", flush=True)

    print()
    harness.print_table(
        ["workers", "call timeout s", "second user's extraction done after s"],
        [[r["workers"], r["timeout_s"], r["waited_s"] or f"> {GIVE_UP_SECONDS}"] for r in rows],
    )
    harness.write_results(
        f"extraction_queue_{database}",
        {
            "database": database,
            "hang_s": HANG_SECONDS,
            "give_up_s": GIVE_UP_SECONDS,
            "results": rows,
        },
    )


if __name__ == "__main__":
    main()
