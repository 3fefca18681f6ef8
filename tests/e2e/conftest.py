"""A real server process and a real browser, for tests that go through the page as a person does."""

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.processes import free_port, skip_or_fail, stop, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@contextlib.contextmanager
def serve_app(data_dir: Path, **settings: str) -> Iterator[str]:
    """The app served by Daphne (runserver) in a process of its own, on a scratch SQLite file."""
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": "e2e-tests-only",
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'db.sqlite3'}",
        "REDIS_URL": "",
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
        # Without Redis the server runs the task worker itself (config.task_workers).
        "TASKS_BACKEND": "",
        "OFFLINE_MODEL_TOKEN_DELAY_SECONDS": "0.005",
        **settings,
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    log = (data_dir / "server.log").open("w")
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server)
        log.close()


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory) -> Iterator[str]:
    with serve_app(tmp_path_factory.mktemp("e2e-data")) as url:
        yield url


@pytest.fixture(scope="module")
def browser_args() -> list[str]:
    """Extra Chromium flags; a test module overrides this (a fake microphone, say)."""
    return []


# Module scope: the sync Playwright API keeps an event loop running in this thread while it is
# open, which async tests elsewhere in the session could not start beside.
@pytest.fixture(scope="module")
def browser(browser_args):
    if CHROMIUM is None:
        skip_or_fail("Chromium for the browser tests (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # The first answer of a fresh server may wait for the embedding model to load.
    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                *browser_args,
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core from the npm registry, at the version package.json pins (`npm ci` installs it)."""
    if not AXE_SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            skip_or_fail(
                "npm to install axe-core for the accessibility tests (apt-get install npm)"
            )
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True, capture_output=True
        )
    return AXE_SCRIPT
