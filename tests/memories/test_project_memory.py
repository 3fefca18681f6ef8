"""Project memory end to end: what one chat of a project learns reaches its next chats' requests,
and never a chat of another project or outside projects."""

import pytest
from asgiref.sync import sync_to_async

from chat import services as chat_services
from chat import turns
from chat.models import Message, Project
from memories import selectors
from memories.models import Memory, MemoryKind
from tests.upstream import Text

DECISION = "Decided to ship the beta on May 2"


async def run_turn(conversation, text: str) -> Message:
    user_message, answer = await sync_to_async(chat_services.start_turn)(conversation, text)
    async for _ in turns.stream_answer(conversation, user_message, answer):
        pass
    return await Message.objects.aget(pk=answer.pk)


def context_of(body: dict) -> str:
    """The memory context (recalled notes and project state) injected into one request body."""
    return "\n".join(
        item["content"]
        for item in body["input"]
        if item.get("role") == "developer" and "</" in item.get("content", "")
    )


@pytest.fixture
def projects(user, make_project):
    return make_project(user, "Beta launch"), make_project(user, "Garden")


@pytest.mark.django_db(transaction=True)
async def test_a_decision_told_in_a_project_reaches_its_next_chat_and_no_other(
    upstream, user, projects, make_conversation
):
    launch, garden = projects
    upstream.script_chat(f'{{"memory": [{{"text": "{DECISION}"}}]}}')
    await run_turn(
        await sync_to_async(make_conversation)(user, project=launch),
        "We decided to ship the beta on May 2.",
    )
    stored = await Memory.objects.aget(text=DECISION)
    assert (stored.project_id, stored.kind) == (launch.pk, MemoryKind.TASK)

    next_chat = await sync_to_async(make_conversation)(user, project=launch)
    answer = await run_turn(next_chat, "Where are we with the work?")
    await run_turn(
        await sync_to_async(make_conversation)(user, project=garden), "When do we ship the beta?"
    )
    await run_turn(await sync_to_async(make_conversation)(user), "When do we ship the beta?")

    bodies = upstream.responses_bodies()
    assert DECISION in context_of(bodies[1])
    assert "May 2" not in str(bodies[2])
    assert "May 2" not in str(bodies[3])
    used = await sync_to_async(selectors.memories_used_by)(user, answer)
    assert DECISION in [memory.text for memory in used]


@pytest.mark.django_db(transaction=True)
async def test_mem0_sees_only_the_chats_scopes_when_it_extracts(
    upstream, user, projects, make_conversation, make_memory
):
    launch, garden = projects
    await sync_to_async(make_memory)(
        user, "The Quenelle beta of the garden ships in May", project_id=garden.pk
    )
    upstream.script_chat('{"memory": []}')

    await run_turn(
        await sync_to_async(make_conversation)(user, project=launch), "The beta ships in May."
    )

    extraction_prompt = str(upstream.chat_bodies()[-1])
    assert "Quenelle" not in extraction_prompt


@pytest.mark.django_db(transaction=True)
async def test_a_finished_project_chat_leaves_a_summary_the_next_chat_starts_from(
    upstream, user, projects, make_conversation
):
    launch, _ = projects
    upstream.script_chat('{"memory": []}')
    first = await sync_to_async(make_conversation)(user, project=launch, title="Pricing page")
    await run_turn(first, "Let us draft the pricing page copy. Three tiers.")

    summary = await Memory.objects.aget(kind=MemoryKind.SUMMARY)
    assert summary.project_id == launch.pk and summary.source_conversation_id == first.pk
    assert "draft the pricing page copy" in summary.text

    await run_turn(await sync_to_async(make_conversation)(user, project=launch), "Hello again")
    assert "Pricing page" in context_of(upstream.responses_bodies()[-1])


@pytest.mark.django_db(transaction=True)
async def test_project_only_chats_neither_read_nor_write_person_memories(
    upstream, user, projects, make_conversation, make_memory
):
    launch, _ = projects
    launch.memory_mode = Project.MemoryMode.PROJECT_ONLY
    await launch.asave()
    await sync_to_async(make_memory)(user, "Prefers tea in the morning", kind="preference")
    upstream.script_chat('{"memory": [{"text": "Prefers coffee in the morning"}]}')
    upstream.script(Text("Noted."), Text("Ok."))

    chat = await sync_to_async(make_conversation)(user, project=launch)
    await run_turn(chat, "I prefer coffee in the morning.")
    await run_turn(chat, "What do I drink in the morning?")

    coffee = await Memory.objects.aget(text="Prefers coffee in the morning")
    assert coffee.project_id == launch.pk
    assert "Prefers tea" not in str(upstream.responses_bodies()[-1])
