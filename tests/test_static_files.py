"""One Daphne process with DEBUG off, and no proxy in front: the app serves its own static files."""

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.processes import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]


def test_a_lone_production_process_serves_htmx_and_the_styles(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "false",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "REDIS_URL": "",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "collectstatic", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "config.serve",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, server)
        for path in ("django_htmx/htmx-2.min.js", "css/base.css", "js/chat.js"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/{path}") as response:
                assert response.status == 200
                assert len(response.read()) > 100
    finally:
        server.terminate()
        server.wait(timeout=20)
