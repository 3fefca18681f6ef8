"""Settings come from the environment: .env.example, copied as it is, is a working configuration."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def example_environment() -> dict[str, str]:
    """The variables .env.example sets, many of them empty, as `cp .env.example .env` gives them."""
    variables = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            variables[name.strip()] = value.strip()
    return variables


def manage(*arguments: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **environment},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_example_environment_passes_manage_py_check():
    environment = example_environment()
    assert environment["DATABASE_URL"] == ""  # the case that used to crash with KeyError 'ENGINE'

    result = manage("check", environment=environment)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_an_empty_variable_means_the_default():
    environment = {**example_environment(), "TIME_ZONE": "", "CHAT_TOOL_ROUNDS": ""}

    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.TIME_ZONE, s.CHAT_TOOL_ROUNDS)",
        environment=environment,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["django.db.backends.sqlite3", "UTC", "4"]


def test_an_empty_required_variable_is_refused_with_its_name():
    environment = {**example_environment(), "SECRET_KEY": "", "DEBUG": "false"}

    result = manage("check", environment=environment)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_sqlite_keeps_chat_turns_on_one_thread(tmp_path):
    environment = {**example_environment(), "DATA_DIR": str(tmp_path)}

    default = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.CHAT_TURN_THREADS)",
        environment=environment,
    )
    refused = manage("check", environment={**environment, "CHAT_TURN_THREADS": "4"})

    assert default.returncode == 0, default.stderr
    assert default.stdout.splitlines()[-1] == "0"
    assert refused.returncode != 0
    assert "CHAT_TURN_THREADS must be 0 with SQLite" in refused.stderr
