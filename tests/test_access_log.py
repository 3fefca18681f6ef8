"""Access logs keep paths but never query strings: words typed into a search stay out of logs."""

import logging
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from daphne.management.commands.runserver import Command as RunserverCommand

from tests.processes import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
TYPED = "my-secret-diagnosis"


@pytest.fixture
def daphne_access_log(tmp_path):
    """Production's server command, on a scratch SQLite file; yields the log it writes."""
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
    }
    log_path = tmp_path / "server.log"
    command = [sys.executable, "-m", "config.serve", "-b", "127.0.0.1", "-p", str(port)]
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*command, "config.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, server)
            yield f"http://127.0.0.1:{port}", log_path
        finally:
            server.terminate()
            server.wait(timeout=10)


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_daphne_access_log_has_the_path_without_the_search_words(daphne_access_log):
    base_url, log_path = daphne_access_log

    get(f"{base_url}/memories/?search={TYPED}&contains={TYPED}")
    get(f"{base_url}/no-such-page/?q={TYPED}")

    log = log_path.read_text()
    assert '"GET /memories/' in log
    assert '"GET /no-such-page/' in log
    assert TYPED not in log


@pytest.mark.parametrize("status", [200, 302, 404, 500])
def test_runserver_access_log_has_the_path_without_the_search_words(status):
    lines: list[str] = []
    capture = logging.Handler()
    capture.emit = lambda record: lines.append(record.getMessage())
    access_logger = logging.getLogger("django.channels.server")
    access_logger.addHandler(capture)
    try:
        RunserverCommand().log_action(
            "http",
            "complete",
            {
                "path": f"/memories/?search={TYPED}",
                "status": status,
                "method": "GET",
                "client": "127.0.0.1:5000",
                "time_taken": 0.01,
                "size": 10,
            },
        )
    finally:
        access_logger.removeHandler(capture)

    assert len(lines) == 1
    assert "/memories/" in lines[0]
    assert TYPED not in lines[0]
