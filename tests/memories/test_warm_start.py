"""The worker loads the embedding model when it starts, before any job asks for it."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_worker_loads_the_embedding_model_as_it_starts(tmp_path):
    env = {
        **os.environ,
        "SECRET_KEY": "tests-only",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "LOG_LEVEL": "INFO",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [*manage, "run_worker", "--no-reload", "--interval", "0.2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while "Embedding model loaded" not in log_path.read_text():
            assert worker.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the idle worker never loaded the model"
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    # No job ran: the model was loaded by the start, not by a first job.
    assert "state=RUNNING" not in log_path.read_text()
