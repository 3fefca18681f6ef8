"""Background jobs of the memory layer (django-tasks; the database backend by default).

Extraction runs after the turn, in the worker; a failed run is retried with backoff here, and
the ExtractionRun row says how it went, and `extraction_finished` tells the pages that show it.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from chat.models import Message
from memories.extraction import extract_from_turn
from memories.models import ExtractionRun
from memories.selectors import memory_enabled
from memories.signals import extraction_finished

logger = logging.getLogger(__name__)

# The longest wait before a retry, however many attempts failed.
MAX_BACKOFF_SECONDS = 300


@task()
def extract_memories(run_id: int) -> None:
    """Extract, store, and on failure try again later (with backoff, a few times)."""
    run = ExtractionRun.objects.select_related("message__conversation__owner").get(pk=run_id)
    if run.status == ExtractionRun.Status.DONE:
        return
    answer = run.message
    run.attempts += 1
    run.save(update_fields=["attempts", "updated_at"])
    try:
        if memory_enabled(answer.conversation):
            extract_from_turn(answer)
    except Exception as error:
        # Only the error's type goes to the log: its text could quote the user's words.
        logger.warning(
            "memory extraction %s failed (attempt %s): %s",
            run.pk,
            run.attempts,
            type(error).__name__,
        )
        run.last_error = f"{type(error).__name__}: {error}"[:1000]
        exhausted = run.attempts >= settings.MEMORY_EXTRACTION_ATTEMPTS
        run.status = ExtractionRun.Status.FAILED if exhausted else ExtractionRun.Status.PENDING
        run.save(update_fields=["status", "last_error", "updated_at"])
        if not exhausted:
            _enqueue(run.pk, attempt=run.attempts)
        else:
            extraction_finished.send(ExtractionRun, run=run)
        return
    run.status = ExtractionRun.Status.DONE
    run.last_error = ""
    run.save(update_fields=["status", "last_error", "updated_at"])
    extraction_finished.send(ExtractionRun, run=run)


def schedule_extraction(answer: Message) -> ExtractionRun | None:
    """Record that this turn's memories are to be extracted, and queue the job after commit."""
    if not memory_enabled(answer.conversation):
        return None
    run = ExtractionRun.objects.create(message=answer)
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def retry_extractions(*, older_than: datetime) -> int:
    """Queue again every failed extraction, and pending ones not touched since `older_than`."""
    runs = ExtractionRun.objects.filter(
        Q(status=ExtractionRun.Status.FAILED)
        | Q(status=ExtractionRun.Status.PENDING, updated_at__lt=older_than)
    )
    run_ids = list(runs.values_list("pk", flat=True))
    ExtractionRun.objects.filter(pk__in=run_ids).update(
        status=ExtractionRun.Status.PENDING, attempts=0
    )
    for run_id in run_ids:
        _enqueue(run_id)
    return len(run_ids)


def _enqueue(run_id: int, *, attempt: int = 0) -> None:
    job = extract_memories
    if attempt and job.get_backend().supports_defer:
        delay = min(MAX_BACKOFF_SECONDS, 5 * 2**attempt)
        job = job.using(run_after=timezone.now() + timedelta(seconds=delay))
    job.enqueue(run_id)
