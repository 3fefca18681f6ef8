"""`manage.py run_worker`: django-tasks-db's `db_worker`, kept running through database outages.

`db_worker` exits on a database error it does not expect, so a PostgreSQL restart while it polls
for jobs would leave no worker until someone started one again. This one logs the outage, waits
and starts the worker afresh. A job cut short by the outage is queued again by its own lease
(`memories.tasks`), as when a worker dies.
"""

import logging
import time
from typing import Any

from django.db import InterfaceError, OperationalError, connections
from django_tasks_db.management.commands import db_worker

logger = logging.getLogger(__name__)
RETRY_SECONDS = 2


class Command(db_worker.Command):
    help = "Run background jobs (as db_worker does), through database outages"

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            try:
                return super().handle(*args, **options)
            except (OperationalError, InterfaceError) as error:
                logger.warning(
                    "The worker lost its database (%s); it starts again in %s s",
                    str(error).strip(),
                    RETRY_SECONDS,
                )
                connections.close_all()
                time.sleep(RETRY_SECONDS)
