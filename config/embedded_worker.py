"""Without Redis the web process also runs the task worker, in a thread.

The in-memory channel layer does not leave its process, so a worker elsewhere could not push
"Memory updated" to the pages; with REDIS_URL set, workers run as processes of their own.
"""

import os
import threading

from django.conf import settings
from django_tasks import task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker

EMBEDDED_WORKERS = 2


def start_unless_scaled_out() -> None:
    """Start the embedded worker when there is no Redis and tasks go through the database."""
    if settings.REDIS_URL or not isinstance(task_backends["default"], DatabaseBackend):
        return
    # Two: a worker runs one job at a time, and one hung extraction must not hold up the rest.
    for number in range(EMBEDDED_WORKERS):
        worker = Worker(
            queue_names=["default"],
            interval=0.2,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"web-{os.getpid()}-{number}",
            excluded_queue_names=[],
        )
        threading.Thread(
            target=worker.run, name=f"embedded-task-worker-{number}", daemon=True
        ).start()
