"""Item 14: an import runs as a background job with progress on its page, embeds a batch at a
time, and an upload over the limit is refused before it is read."""

import asyncio
import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from memories import exports, tasks
from memories.models import ImportJob, Memory
from tests.memories.pages import HTMX


def export_file(*texts: str, **entry) -> SimpleUploadedFile:
    data = {"format": exports.EXPORT_FORMAT, "memories": [{"text": t, **entry} for t in texts]}
    return SimpleUploadedFile("m.json", json.dumps(data).encode(), "application/json")


@pytest.mark.django_db(transaction=True)
def test_an_import_is_queued_and_its_page_polls_until_the_worker_finished_it(
    client_for, user, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client = client_for(user)

    response = client.post(reverse("memories:import"), {"file": export_file("Owns a canoe")})

    job = ImportJob.objects.get(owner=user)
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert not Memory.objects.filter(owner=user).exists()
    waiting = client.get(job.get_absolute_url(), **HTMX).content.decode()
    assert f'hx-get="{job.get_absolute_url()}"' in waiting and "load delay:1s" in waiting

    call_command("db_worker", batch=True, no_startup_delay=True)

    finished = client.get(job.get_absolute_url(), **HTMX).content.decode()
    assert "Added 1, skipped 0 already known" in finished and "load delay" not in finished
    assert Memory.objects.filter(owner=user, text="Owns a canoe").exists()
    job.refresh_from_db()
    assert (job.status, job.processed, job.total, job.source) == ("done", 1, 1, "")


def test_progress_is_reported_after_each_batch_embedded_at_once(user, monkeypatch):
    monkeypatch.setattr(exports, "IMPORT_BATCH_SIZE", 2)
    texts = ["Owns a canoe", "Speaks Italian", "Plays the cello", "Lives in Porto", "Hates olives"]
    data = {"format": exports.EXPORT_FORMAT, "memories": [{"text": text} for text in texts]}
    reported = []

    result = exports.import_memories(user, data, progress=reported.append)

    assert reported == [2, 4, 5]
    assert result.added == 5


def test_the_page_of_another_users_import_is_a_404(client, client_for, other_user):
    theirs = client_for(other_user).post(
        reverse("memories:import"), {"file": export_file("Owns a canoe")}
    )

    assert client.get(theirs["Location"]).status_code == 404
    assert client.get(theirs["Location"], **HTMX).status_code == 404


def test_a_file_with_too_many_entries_is_refused_with_the_limit(client, user, settings):
    settings.MEMORY_IMPORT_MAX_ENTRIES = 2

    response = client.post(reverse("memories:import"), {"file": export_file("A", "B", "C")})

    assert response.status_code == 400
    assert "holds 3 memories; at most 2 can be imported at once" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_hostile_entries_never_make_a_server_error_and_each_is_reported(client, user):
    content = (
        '{"format": "recall-memories/1", "memories": ['
        '{"text": "Owns a canoe", "tags": "boats"},'
        '{"text": "Slot as a number", "slot": 3},'
        '{"text": "Out of range", "expires_at": "99999-01-01"},'
        '{"text": "Not a number", "metadata": {"x": NaN}}]}'
    )
    upload = SimpleUploadedFile("m.json", content.encode(), "application/json")

    response = client.post(reverse("memories:import"), {"file": upload}, follow=True)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Added 1, skipped 0 already known, 3 could not be read" in page
    for number in (2, 3, 4):
        assert f"memory {number}: " in page
    assert list(Memory.objects.filter(owner=user).values_list("tags", flat=True)) == [["boats"]]


# --- uploads over the limit, through the ASGI application as Daphne runs it ---------------------


async def post_import(headers: list[tuple[bytes, bytes]], chunks: int) -> tuple[int, bytes, int]:
    """POST `chunks` MiB to the import page; returns the status, the body and the chunks read."""
    from config.asgi import application

    read = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal read
        read += 1
        if read > chunks:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": b"x" * 1024 * 1024, "more_body": read < chunks}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": reverse("memories:import"),
        "raw_path": reverse("memories:import").encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await asyncio.wait_for(application(scope, receive, send), timeout=30)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, read


async def test_an_upload_declared_over_the_limit_is_refused_unread():
    status, body, read = await post_import([(b"content-length", b"314572800")], chunks=300)

    assert status == 413
    assert b"larger than the 5 MB limit" in body
    assert read == 0


async def test_an_upload_without_a_length_is_refused_once_it_passes_the_limit():
    status, body, read = await post_import([(b"transfer-encoding", b"chunked")], chunks=300)

    assert status == 413
    assert b"nothing was stored" in body
    assert read == 6


def _running_import(owner, texts: list[str], *, silent_for: timedelta) -> ImportJob:
    """An import a worker started, last reporting progress `silent_for` ago."""
    data = {"format": exports.EXPORT_FORMAT, "memories": [{"text": text} for text in texts]}
    job = ImportJob.objects.create(
        owner=owner,
        source=json.dumps(data),
        status=ImportJob.Status.RUNNING,
        total=len(texts),
        processed=1,
    )
    # auto_now would stamp the present.
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - silent_for)
    return job


def test_an_import_whose_worker_died_is_finished_when_its_page_looks(
    client, user, make_memory, settings
):
    settings.MEMORY_IMPORT_STALL_SECONDS = 60
    # The worker stored the first entry, then was killed.
    make_memory(user, "Owns a canoe")
    job = _running_import(
        user, ["Owns a canoe", "Speaks Italian", "Plays the cello"], silent_for=timedelta(minutes=5)
    )

    page = client.get(job.get_absolute_url(), **HTMX).content.decode()

    assert "Added 2, skipped 1 already known" in page
    job.refresh_from_db()
    assert (job.status, job.processed, job.source) == ("done", 3, "")
    texts = Memory.objects.filter(owner=user).values_list("text", flat=True)
    assert sorted(texts) == ["Owns a canoe", "Plays the cello", "Speaks Italian"]


def test_an_import_still_reporting_progress_is_left_to_its_worker(user, settings):
    settings.MEMORY_IMPORT_STALL_SECONDS = 60
    job = _running_import(user, ["Owns a canoe", "Speaks Italian"], silent_for=timedelta(seconds=5))

    assert tasks.requeue_stalled_imports() == 0

    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING
    assert not Memory.objects.filter(owner=user).exists()
