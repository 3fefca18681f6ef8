"""The task workers: kept running through database outages, and run by the web process itself
when there is no Redis.

Without Redis the in-memory channel layer does not leave its process, so a worker elsewhere
could not push "Memory updated" to the pages: the web process runs two workers in threads. With
REDIS_URL set, workers run as processes of their own (`manage.py run_worker`).
"""

import logging
import os
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django_tasks import task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger(__name__)
EMBEDDED_WORKERS = 2
RETRY_SECONDS = 2


def run_through_database_outages(run: Callable[[], None]) -> None:
    """Run a worker (`run`), and run it afresh after a database error it does not handle.

    django-tasks-db's worker ends on any database error but a locked SQLite file: a PostgreSQL
    restart, or SQLite still locked when a transaction begins, would leave no worker until the
    process was restarted. A job cut short is queued again by its own lease (`memories.tasks`).
    """
    while True:
        try:
            return run()
        except (OperationalError, InterfaceError) as error:
            logger.warning(
                "A task worker lost its database (%s); it starts again in %s s",
                str(error).strip(),
                RETRY_SECONDS,
            )
            connections.close_all()
            time.sleep(RETRY_SECONDS)


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
            target=run_through_database_outages,
            args=(worker.run,),
            name=f"embedded-task-worker-{number}",
            daemon=True,
        ).start()
