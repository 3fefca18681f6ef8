"""Waits until the web process and a worker both have the embedding model loaded: `make run`
says it is ready only then, so the first memory does not wait for a model to load."""

import time
import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tasks import TaskResultStatus

from memories.warm_up import embed_in_worker


class Command(BaseCommand):
    help = "Wait until the web process at URL and a worker have the embedding model loaded."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="The web process, e.g. http://127.0.0.1:8000")
        parser.add_argument("--timeout", type=float, default=180, help="Seconds to wait at most")
        parser.add_argument(
            "--web-only", action="store_true", help="Wait for the web process alone (no workers)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"]
        deadline = time.monotonic() + options["timeout"]
        self._wait_for_web(url.rstrip("/") + "/ready/", deadline)
        if not options["web_only"]:
            self._wait_for_worker(deadline)
        self.stdout.write(f"Recall is ready: {url}")

    def _wait_for_web(self, ready_url: str, deadline: float) -> None:
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet, or still warming up (503)
            if time.monotonic() > deadline:
                raise CommandError(f"{ready_url} did not answer 200 in time")
            time.sleep(0.25)

    def _wait_for_worker(self, deadline: float) -> None:
        result = embed_in_worker.enqueue()
        while result.status not in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED):
            if time.monotonic() > deadline:
                raise CommandError("no worker ran the warm-up job in time: is run_worker running?")
            time.sleep(0.25)
            result.refresh()
        if result.status == TaskResultStatus.FAILED:
            raise CommandError("the worker could not load the embedding model")
