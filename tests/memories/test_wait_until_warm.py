"""wait_until_warm: what deploy/scale-out waits for before it says a setup is ready."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import call_command


class _Warm(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ready/" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def warm_web_process() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Warm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_setup_without_workers_is_ready_once_its_web_process_is(warm_web_process, settings):
    # A worker would never run the warm-up job: nothing would ever run it here.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    out = StringIO()

    call_command("wait_until_warm", warm_web_process, "--web-only", "--timeout", "5", stdout=out)

    assert f"Recall is ready: {warm_web_process}" in out.getvalue()
