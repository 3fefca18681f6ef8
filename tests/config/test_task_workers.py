"""The task workers outlive a database error their library does not handle."""

import logging

import pytest
from django.db import InterfaceError, OperationalError

from config import task_workers


@pytest.fixture(autouse=True)
def _no_wait(monkeypatch):
    monkeypatch.setattr(task_workers, "RETRY_SECONDS", 0)


def worker_failing_with(*errors: Exception) -> list[int]:
    """A worker that raises `errors` on its first runs, then ends; returns the runs it made."""
    runs: list[int] = []

    def run() -> None:
        runs.append(len(runs))
        if len(runs) <= len(errors):
            raise errors[len(runs) - 1]

    task_workers.run_through_database_outages(run)
    return runs


def test_a_worker_that_loses_its_database_runs_again_and_says_so(caplog):
    caplog.set_level(logging.WARNING, logger=task_workers.__name__)

    runs = worker_failing_with(
        OperationalError("database is locked"), InterfaceError("connection already closed")
    )

    assert runs == [0, 1, 2]
    assert [record.getMessage() for record in caplog.records] == [
        "A task worker lost its database (database is locked); it starts again in 0 s",
        "A task worker lost its database (connection already closed); it starts again in 0 s",
    ]


def test_an_error_that_is_not_the_database_s_still_ends_the_worker():
    with pytest.raises(ValueError):
        worker_failing_with(ValueError("a bug"))
