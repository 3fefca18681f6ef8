"""Item 13: an extraction that failed for good says so under its answer, and can be tried again
by its owner (the notice's button) or by staff (the admin's action)."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from memories.models import ExtractionRun, Memory
from tests.memories.pages import HTMX


@pytest.fixture
def failed_run(conversation, make_turn) -> ExtractionRun:
    turn = make_turn(conversation, "I moved to Lisbon", "Nice!")
    return ExtractionRun.objects.create(
        message=turn.answer,
        status=ExtractionRun.Status.FAILED,
        attempts=5,
        last_error="APITimeoutError: Request timed out.",
    )


def notice_url(run: ExtractionRun) -> str:
    return reverse("memories:answer_changes", args=[run.message_id])


def retry_url(run: ExtractionRun) -> str:
    return reverse("memories:retry_extraction", args=[run.message_id])


def test_a_failed_extraction_says_memory_was_not_updated_with_a_retry_button(client, failed_run):
    content = client.get(notice_url(failed_run), **HTMX).content.decode()

    assert "Memory could not be updated for this answer." in content
    assert f'hx-post="{retry_url(failed_run)}"' in content
    assert "load delay" not in content
    panel = reverse("memories:answer_memory", args=[failed_run.message_id])
    assert "could not be updated" in client.get(panel, **HTMX).content.decode()


def test_retrying_runs_the_extraction_again_and_the_notice_shows_what_it_learned(
    client, user, failed_run
):
    response = client.post(retry_url(failed_run), **HTMX)

    assert response.status_code == 200
    failed_run.refresh_from_db()
    assert (failed_run.status, failed_run.attempts) == (ExtractionRun.Status.DONE, 1)
    assert Memory.objects.filter(owner=user, text="Lives in Lisbon").exists()
    content = response.content.decode()
    assert "Memory updated" in content and "Lives in Lisbon" in content
    assert "could not be updated" not in content


def test_only_the_owner_can_retry_and_only_with_a_post(client_for, other_user, client, failed_run):
    assert client_for(other_user).post(retry_url(failed_run), **HTMX).status_code == 404
    assert client.get(retry_url(failed_run), **HTMX).status_code == 405
    failed_run.refresh_from_db()
    assert failed_run.status == ExtractionRun.Status.FAILED


def test_an_extraction_that_did_not_fail_is_not_retried(client, failed_run):
    failed_run.status = ExtractionRun.Status.DONE
    failed_run.save()

    response = client.post(retry_url(failed_run), **HTMX)

    assert response.status_code == 409
    failed_run.refresh_from_db()
    assert (failed_run.status, failed_run.attempts) == (ExtractionRun.Status.DONE, 5)


def test_the_admin_lists_failed_runs_by_status_with_their_error(admin_client, failed_run):
    changelist = reverse("admin:memories_extractionrun_changelist")

    failed = admin_client.get(changelist, {"status__exact": "failed"}).content.decode()
    done = admin_client.get(changelist, {"status__exact": "done"}).content.decode()
    detail = admin_client.get(
        reverse("admin:memories_extractionrun_change", args=[failed_run.pk])
    ).content.decode()

    assert "alice" in failed and "alice" not in done
    assert "APITimeoutError: Request timed out." in detail


def test_the_admin_retry_action_runs_failed_extractions_again(admin_client, user, failed_run):
    response = admin_client.post(
        reverse("admin:memories_extractionrun_changelist"),
        {"action": "retry", ACTION_CHECKBOX_NAME: [failed_run.pk]},
    )

    assert response.status_code == 302
    failed_run.refresh_from_db()
    assert failed_run.status == ExtractionRun.Status.DONE
    assert Memory.objects.filter(owner=user, text="Lives in Lisbon").exists()
