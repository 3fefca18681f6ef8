"""`manage.py run_worker`: django-tasks-db's `db_worker`, kept running through database outages.

`db_worker` exits on a database error it does not expect, so a PostgreSQL restart while it polls
for jobs would leave no worker until someone started one again. This one logs the outage, waits
and starts the worker afresh. A job cut short by the outage is queued again by its own lease
(`memories.tasks`), as when a worker dies.
"""

from typing import Any

from django_tasks_db.management.commands import db_worker

from config.task_workers import run_through_database_outages


class Command(db_worker.Command):
    help = "Run background jobs (as db_worker does), through database outages"

    def handle(self, *args: Any, **options: Any) -> None:
        run_through_database_outages(lambda: super(Command, self).handle(*args, **options))
