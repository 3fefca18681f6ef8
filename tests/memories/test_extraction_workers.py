"""Extraction in real `db_worker` processes: a hung upstream or a killed worker stalls no one."""

import signal

import pytest
from django.urls import reverse

from memories import tasks
from memories.models import ExtractionRun, Memory
from tests.memories.pages import HTMX
from tests.memories.workers import wait_until
from tests.upstream import Hang

ALLERGY = '{"memory": [{"text": "Is allergic to peanuts"}]}'
LEASE_SECONDS = "1"


def status_of(run: ExtractionRun) -> str:
    run.refresh_from_db()
    return run.status


@pytest.fixture
def schedule(make_user, make_conversation, make_turn):
    def schedule_for(username: str, question: str) -> ExtractionRun:
        conversation = make_conversation(make_user(username))
        return tasks.schedule_extraction(make_turn(conversation, question, "Noted.").answer)

    return schedule_for


# item 11
def test_another_users_extraction_finishes_while_one_hangs(start_worker, upstream, schedule):
    upstream.script_chat(Hang(120), ALLERGY)
    hung = schedule("hung", "My cat is called Tom.")
    # However long the hang lasts, the other worker takes the other run.
    start_worker(MEMORY_EXTRACTION_TIMEOUT_SECONDS="600")
    wait_until(lambda: len(upstream.chat_bodies()) == 1, what="the first extraction call")

    waiting = schedule("waiting", "I am allergic to peanuts.")
    start_worker()

    wait_until(lambda: status_of(waiting) == ExtractionRun.Status.DONE, what="the second run")
    assert Memory.objects.get(text="Is allergic to peanuts").owner.username == "waiting"
    assert status_of(hung) == ExtractionRun.Status.PENDING


# item 12
def test_a_run_whose_worker_was_killed_is_finished_once_by_another(
    start_worker, upstream, schedule, client_for
):
    upstream.script_chat(Hang(120), ALLERGY)
    run = schedule("alice", "I am allergic to peanuts.")
    doomed = start_worker(MEMORY_EXTRACTION_LEASE_SECONDS=LEASE_SECONDS)
    wait_until(lambda: len(upstream.chat_bodies()) == 1, what="the extraction call")

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    run.refresh_from_db()
    assert (run.status, run.attempts) == (ExtractionRun.Status.PENDING, 1)
    assert run.claimed_by

    # The page still polls the notice; once the dead worker's claim lapsed, that queues it again.
    page = client_for(run.message.conversation.owner)
    notice_url = reverse("memories:answer_changes", args=[run.message_id])

    def polled_and_released() -> bool:
        page.get(notice_url, **HTMX)
        run.refresh_from_db()
        return not run.claimed_by

    wait_until(polled_and_released, what="the lapsed claim to be released")
    start_worker("--batch", MEMORY_EXTRACTION_LEASE_SECONDS=LEASE_SECONDS).wait(timeout=180)

    run.refresh_from_db()
    assert (run.status, run.attempts) == (ExtractionRun.Status.DONE, 2)
    assert Memory.objects.filter(text="Is allergic to peanuts").count() == 1
    assert "Is allergic to peanuts" in page.get(notice_url, **HTMX).content.decode()
