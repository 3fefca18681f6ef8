"""Extraction runs after the turn as a durable job: it never delays the stream, loses nothing."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from chat import agent, turns
from chat import services as chat_services
from chat.models import Message
from memories import selectors, tasks
from memories.models import ExtractionRun, Memory, MemoryEvent
from tests.upstream import Hang, HTTPError, Text

EXTRACTED = '{"memory": [{"text": "Is allergic to peanuts"}]}'
# An attempt makes one call: the task retries with backoff, the SDK does not retry.
FAILED_ATTEMPT = (HTTPError(500, "overloaded"),)


async def stream_turn(conversation, text: str) -> list[turns.TurnUpdate]:
    user_message, answer = await sync_to_async(chat_services.start_turn)(conversation, text)
    return [update async for update in turns.stream_answer(conversation, user_message, answer)]


async def stream_turn_and_close(conversation, text: str) -> list[turns.TurnUpdate]:
    """stream_turn on an event loop of its own (async_to_sync), whose model clients are closed
    before it is, as the async tests' are by a fixture."""
    try:
        return await stream_turn(conversation, text)
    finally:
        await agent.close_clients()


@pytest.fixture
def database_queue(settings):
    """The production backend: jobs wait in the database for a worker."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.django_db(transaction=True)
def test_the_stream_finishes_before_extraction_runs(database_queue, upstream, conversation):
    upstream.script(Text("Good to know."))
    upstream.script_chat(EXTRACTED)

    updates = async_to_sync(stream_turn_and_close)(conversation, "I am allergic to peanuts.")

    assert isinstance(updates[-1], turns.AnswerFinished)
    assert updates[-1].message.status == Message.Status.COMPLETE
    # The answer is saved and shown; extraction is only queued, nothing asked of the LLM yet.
    run = ExtractionRun.objects.get(message=updates[-1].message)
    assert run.status == ExtractionRun.Status.PENDING
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    assert upstream.chat_bodies() == []

    # The worker command installs signal handlers, so it runs here on the main thread.
    call_command("db_worker", batch=True, no_startup_delay=True)

    run.refresh_from_db()
    assert run.status == ExtractionRun.Status.DONE
    assert Memory.objects.filter(text="Is allergic to peanuts").exists()


@pytest.mark.django_db(transaction=True)
async def test_a_failed_extraction_is_retried_and_the_fact_is_kept(upstream, conversation):
    upstream.script(Text("Good to know."))
    upstream.script_chat(*FAILED_ATTEMPT, EXTRACTED)

    updates = await stream_turn(conversation, "I am allergic to peanuts.")

    run = await ExtractionRun.objects.aget(message=updates[-1].message)
    assert run.status == ExtractionRun.Status.DONE
    assert run.attempts == 2
    memory = await Memory.objects.select_related("source_message").aget(
        text="Is allergic to peanuts"
    )
    assert memory.source_message.content == "I am allergic to peanuts."


@pytest.mark.django_db(transaction=True)
async def test_an_extraction_out_of_attempts_is_kept_and_can_be_retried(
    upstream, conversation, settings
):
    settings.MEMORY_EXTRACTION_ATTEMPTS = 2
    upstream.script(Text("Good to know."))
    upstream.script_chat(*FAILED_ATTEMPT, *FAILED_ATTEMPT)

    updates = await stream_turn(conversation, "I am allergic to peanuts.")

    run = await ExtractionRun.objects.aget(message=updates[-1].message)
    assert run.status == ExtractionRun.Status.FAILED
    assert run.attempts == 2
    assert "overloaded" in run.last_error

    upstream.script_chat(EXTRACTED)
    await sync_to_async(call_command)("retry_memory_extractions")

    await run.arefresh_from_db()
    assert run.status == ExtractionRun.Status.DONE
    assert await Memory.objects.filter(text="Is allergic to peanuts").aexists()


@pytest.mark.django_db(transaction=True)
async def test_offline_model_extracts_first_person_facts_without_any_llm(conversation):
    updates = await stream_turn(conversation, "My name is Ada. I prefer tea over coffee.")

    texts = set(
        await sync_to_async(list)(
            Memory.objects.filter(owner=conversation.owner).values_list("text", flat=True)
        )
    )
    assert texts == {"Name is Ada", "Prefers tea over coffee"}
    changes = await sync_to_async(selectors.changes_after)(updates[-1].message)
    assert {(c.action, c.memory.text) for c in changes} == {
        (MemoryEvent.Action.ADDED, "Name is Ada"),
        (MemoryEvent.Action.ADDED, "Prefers tea over coffee"),
    }


@pytest.mark.django_db(transaction=True)
async def test_offline_model_supersedes_a_moved_home(conversation, make_conversation):
    await stream_turn(conversation, "I live in Berlin.")
    later = await sync_to_async(make_conversation)(conversation.owner)

    updates = await stream_turn(later, "I just moved to Lisbon!")

    statuses = dict(
        await sync_to_async(list)(
            Memory.objects.filter(owner=conversation.owner).values_list("text", "status")
        )
    )
    assert statuses == {"Lives in Berlin": "superseded", "Lives in Lisbon": "active"}
    changes = await sync_to_async(selectors.changes_after)(updates[-1].message)
    assert (MemoryEvent.Action.SUPERSEDED, "Lives in Berlin") in {
        (c.action, c.memory.text) for c in changes
    }


# item 11
@pytest.mark.django_db(transaction=True)
def test_a_hung_extraction_call_fails_after_its_own_timeout_without_retries(
    upstream, conversation, make_turn, settings
):
    settings.MEMORY_EXTRACTION_TIMEOUT_SECONDS = 0.5
    settings.MEMORY_EXTRACTION_ATTEMPTS = 1
    upstream.script_chat(Hang(30))
    turn = make_turn(conversation, "I am allergic to peanuts.", "Good to know.")

    run = tasks.schedule_extraction(turn.answer)

    run.refresh_from_db()
    assert run.status == ExtractionRun.Status.FAILED
    assert "timed out" in run.last_error
    assert len(upstream.chat_bodies()) == 1


# item 12
@pytest.mark.django_db(transaction=True)
def test_a_run_claimed_by_a_live_worker_is_not_run_again(upstream, conversation, make_turn):
    turn = make_turn(conversation, "I am allergic to peanuts.", "Good to know.")
    run = ExtractionRun.objects.create(
        message=turn.answer,
        attempts=1,
        claimed_by="another-worker",
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )

    tasks.extract_memories.call(run.pk)
    tasks.requeue_abandoned_extractions()

    run.refresh_from_db()
    assert (run.status, run.attempts, run.claimed_by) == ("pending", 1, "another-worker")
    assert upstream.chat_bodies() == []


# item 12
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_claim_lapsed_is_queued_again_and_finished(upstream, conversation, make_turn):
    upstream.script_chat(EXTRACTED)
    turn = make_turn(conversation, "I am allergic to peanuts.", "Good to know.")
    run = ExtractionRun.objects.create(
        message=turn.answer,
        attempts=1,
        claimed_by="a-killed-worker",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )

    assert tasks.requeue_abandoned_extractions() == 1

    run.refresh_from_db()
    assert (run.status, run.attempts, run.claimed_by) == ("done", 2, "")
    assert Memory.objects.filter(text="Is allergic to peanuts").count() == 1
