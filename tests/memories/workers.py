"""Real `manage.py run_worker` processes for tests, over a database file this test shares with them.

The test database lives in memory, where no other process can see it; these tests point their
own thread's connection at a SQLite file instead, and start workers on that same file.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper

ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition: Callable[[], object], seconds: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {seconds} s: {what or condition}")
        time.sleep(0.1)


@pytest.fixture
def shared_database(db, tmp_path) -> Iterator[Path]:
    """This thread's "default" database becomes a migrated SQLite file, for worker processes too."""
    path = tmp_path / "shared.sqlite3"
    original = connections["default"]
    shared = DatabaseWrapper(
        {
            **original.settings_dict,
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        },
        "default",
    )
    connections["default"] = shared
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield path
    finally:
        shared.close()
        connections["default"] = original


@pytest.fixture
def start_worker(shared_database, upstream, settings, tmp_path):
    """Start a `manage.py run_worker` process on the shared database, with the test upstream."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    started: list[subprocess.Popen] = []

    def start(*arguments: str, **environment: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "DEBUG": "false",
            "SECRET_KEY": "worker-tests-only",
            "DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{shared_database}",
            "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
            "OPENAI_BASE_URL": upstream.base_url,
            "OPENAI_API_KEY": "test-key",
            "OPENAI_MODEL": "test-model",
            **environment,
        }
        command = [sys.executable, str(ROOT / "manage.py"), "run_worker", "--no-reload"]
        log = (tmp_path / f"worker-{len(started)}.log").open("w")
        worker = subprocess.Popen(
            [*command, "--no-startup-delay", "--interval", "0.2", *arguments],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
