"""Background jobs of the memory layer (django-tasks; the database backend by default).

Extraction runs after the turn, in the worker; a failed run is retried with backoff here, and
the ExtractionRun row says how it went, and `extraction_finished` tells the pages that show it.
An uploaded export is imported here too, its ImportJob row counting progress for the import page.

A worker claims a run before extracting, with one conditional UPDATE, and renews the claim (a
lease) while it works. A worker killed mid-run stops renewing: once its lease lapses the run is
queued again (requeue_abandoned_extractions, as each job starts and in every web process's
sweep: not once per chat turn), and the claim keeps two workers off one run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks import task

from chat.models import Message
from memories import exports
from memories.extraction import extract_from_turn
from memories.models import ExtractionRun, ImportJob
from memories.selectors import memory_enabled
from memories.signals import extraction_finished

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# The longest wait before a retry, however many attempts failed.
MAX_BACKOFF_SECONDS = 300


class RetryRefused(Exception):
    """Only a failed extraction can be tried again by its owner; the text says why."""


@task()
def extract_memories(run_id: int) -> None:
    """Extract, store, and on failure try again later (with backoff, a few times)."""
    # Whichever worker runs a job first looks for runs whose worker died.
    requeue_abandoned_extractions()
    claim = _claim(run_id)
    if claim is None:
        return
    run = ExtractionRun.objects.select_related("message__conversation__owner").get(pk=run_id)
    answer = run.message
    try:
        with _lease_renewed(run_id, claim):
            if memory_enabled(answer.conversation):
                extract_from_turn(answer)
    except Exception as error:
        _record_failure(run, claim, error)
        return
    if _release(run_id, claim, status=ExtractionRun.Status.DONE, last_error=""):
        extraction_finished.send(ExtractionRun, run=ExtractionRun.objects.get(pk=run_id))


def schedule_extraction(answer: Message) -> ExtractionRun | None:
    """Record that this turn's memories are to be extracted, and queue the job after commit."""
    if not memory_enabled(answer.conversation):
        return None
    run = ExtractionRun.objects.create(message=answer)
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def requeue_abandoned_extractions() -> int:
    """Queue again every run whose worker stopped renewing its claim; returns how many."""
    now = timezone.now()
    lapsed = ExtractionRun.objects.filter(
        status=ExtractionRun.Status.PENDING, lease_expires_at__lt=now
    )
    return _queue_again(
        lapsed, "memory extraction", _enqueue, claimed_by="", lease_expires_at=None, updated_at=now
    )


def retry_extractions(*, older_than: datetime) -> int:
    """Queue again every failed extraction, and pending ones not touched since `older_than`."""
    return retry_runs(
        ExtractionRun.objects.filter(
            Q(status=ExtractionRun.Status.FAILED)
            | Q(status=ExtractionRun.Status.PENDING, updated_at__lt=older_than)
        )
    )


def retry_failed_extraction(answer: Message) -> None:
    """Try the failed extraction of this answer again, from a first attempt (its owner asked)."""
    failed = ExtractionRun.objects.filter(message=answer, status=ExtractionRun.Status.FAILED)
    if not retry_runs(failed):
        raise RetryRefused("Memory for this answer is not in a failed state.")


def retry_runs(runs: QuerySet[ExtractionRun]) -> int:
    """Queue these runs again from a first attempt; returns how many.

    A run whose claim is still being renewed is running now, however old, and is left alone.
    """
    now = timezone.now()
    run_ids = list(runs.exclude(lease_expires_at__gte=now).values_list("pk", flat=True))
    ExtractionRun.objects.filter(pk__in=run_ids).update(
        status=ExtractionRun.Status.PENDING,
        attempts=0,
        claimed_by="",
        lease_expires_at=None,
        updated_at=now,
    )
    for run_id in run_ids:
        _enqueue(run_id)
    return len(run_ids)


def start_import(owner: User, source: str) -> ImportJob:
    """Queue the import of an export file (already read by exports.read_export_file)."""
    job = ImportJob.objects.create(owner=owner, source=source)
    # Not on commit: with the database backend the job row and its task commit together.
    import_memories.enqueue(job.pk)
    return job


def requeue_stalled_imports() -> int:
    """Queue again every import whose worker stopped reporting progress (it died mid-import);
    returns how many. Imports skip what the owner already has, so nothing is stored twice."""
    now = timezone.now()
    stalled = ImportJob.objects.filter(
        status=ImportJob.Status.RUNNING,
        updated_at__lt=now - timedelta(seconds=settings.MEMORY_IMPORT_STALL_SECONDS),
    )
    return _queue_again(
        stalled,
        "memory import",
        import_memories.enqueue,
        status=ImportJob.Status.QUEUED,
        updated_at=now,
    )


def _queue_again(
    abandoned: QuerySet, what: str, enqueue: Callable[[int], object], **reset: object
) -> int:
    """Reset each of the `abandoned` rows with `reset` and queue it again; returns how many."""
    requeued = 0
    for pk in abandoned.values_list("pk", flat=True):
        # Conditional, so of two processes sweeping at once only one queues it.
        if abandoned.filter(pk=pk).update(**reset):
            logger.warning("%s %s abandoned by its worker; queued again", what, pk)
            enqueue(pk)
            requeued += 1
    return requeued


@task()
def import_memories(job_id: int) -> None:
    """Import an uploaded export, reporting progress after each batch."""
    started = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, updated_at=timezone.now()
    )
    if not started:
        return
    job = ImportJob.objects.select_related("owner").get(pk=job_id)

    def report(processed: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(processed=processed, updated_at=timezone.now())

    try:
        data = exports.read_export_file(job.source.encode())
        job.total = len(data["memories"])
        job.save(update_fields=["total", "updated_at"])
        result = exports.import_memories(job.owner, data, progress=report)
    except Exception as error:
        # Only the error's type goes to the log: its text could quote the file.
        logger.warning("memory import %s failed: %s", job_id, type(error).__name__)
        job.refresh_from_db(fields=["processed"])
        job.status = ImportJob.Status.FAILED
        job.errors = [
            f"The import stopped after {job.processed} of {job.total} entries. "
            "Import the same file again: what was already imported is skipped."
        ]
    else:
        job.status = ImportJob.Status.DONE
        job.processed = job.total
        job.added, job.skipped, job.errors = result.added, result.skipped, result.errors
    job.source = ""
    job.save()


def _claim(run_id: int) -> str | None:
    """Take the run for this worker, or None if it is finished or another worker holds it."""
    claim = get_random_string(32)
    now = timezone.now()
    claimed = (
        ExtractionRun.objects.filter(pk=run_id, status=ExtractionRun.Status.PENDING)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .update(
            claimed_by=claim,
            lease_expires_at=now + _lease(),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    return claim if claimed else None


@contextmanager
def _lease_renewed(run_id: int, claim: str) -> Iterator[None]:
    """Renew the claim on a thread of its own while the body runs (a model call can take long)."""
    stopped = threading.Event()

    def renew() -> None:
        try:
            while not stopped.wait(_lease().total_seconds() / 3):
                try:
                    ExtractionRun.objects.filter(pk=run_id, claimed_by=claim).update(
                        lease_expires_at=timezone.now() + _lease()
                    )
                except DatabaseError as error:
                    # A busy database this time; two more chances before the lease lapses.
                    logger.warning(
                        "lease of extraction %s not renewed: %s", run_id, type(error).__name__
                    )
        finally:
            connection.close()

    renewer = threading.Thread(target=renew, name=f"extraction-lease-{run_id}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stopped.set()
        renewer.join()


def _record_failure(run: ExtractionRun, claim: str, error: Exception) -> None:
    run.refresh_from_db(fields=["attempts"])
    # Only the error's type goes to the log: its text could quote the user's words.
    logger.warning(
        "memory extraction %s failed (attempt %s): %s",
        run.pk,
        run.attempts,
        type(error).__name__,
    )
    exhausted = run.attempts >= settings.MEMORY_EXTRACTION_ATTEMPTS
    released = _release(
        run.pk,
        claim,
        status=ExtractionRun.Status.FAILED if exhausted else ExtractionRun.Status.PENDING,
        last_error=f"{type(error).__name__}: {error}"[:1000],
    )
    if released and not exhausted:
        _enqueue(run.pk, attempt=run.attempts)
    elif released:
        run.refresh_from_db()
        extraction_finished.send(ExtractionRun, run=run)


def _release(run_id: int, claim: str, *, status: str, last_error: str) -> bool:
    """Record how the attempt ended, unless the claim was lost (then another worker has it)."""
    return bool(
        ExtractionRun.objects.filter(pk=run_id, claimed_by=claim).update(
            status=status,
            last_error=last_error,
            claimed_by="",
            lease_expires_at=None,
            updated_at=timezone.now(),
        )
    )


def _lease() -> timedelta:
    return timedelta(seconds=settings.MEMORY_EXTRACTION_LEASE_SECONDS)


def _enqueue(run_id: int, *, attempt: int = 0) -> None:
    job = extract_memories
    if attempt and job.get_backend().supports_defer:
        delay = min(MAX_BACKOFF_SECONDS, 5 * 2**attempt)
        job = job.using(run_after=timezone.now() + timedelta(seconds=delay))
    job.enqueue(run_id)
