"""Scoped memory: a chat reads the person's memories and its own project's, never another's."""

import pytest

from chat.models import Project
from chat.projects import delete_project
from memories import recall, retrieval
from memories.models import Memory
from memories.scopes import PERSON_ONLY, Scopes, scope_of


def recalled_texts(conversation, text: str) -> list[str]:
    scopes = scope_of(conversation).readable
    return [item.memory.text for item in recall.recall(conversation.owner, text, scopes=scopes)]


@pytest.fixture
def two_projects(user, make_project, make_memory):
    """Projects P and Q with near-identical decisions, and one person-level fact."""
    apollo = make_project(user, "Apollo")
    zephyr = make_project(user, "Zephyr")
    make_memory(user, "Decided to deploy the billing service on Fridays", project_id=apollo.pk)
    make_memory(user, "Decided to deploy the billing service on Mondays", project_id=zephyr.pk)
    make_memory(user, "Prefers short answers about the billing service", kind="preference")
    return apollo, zephyr


def test_a_project_chat_reads_its_project_and_the_person_never_another_project(
    user, two_projects, make_conversation
):
    apollo, zephyr = two_projects
    question = "When do we deploy the billing service?"

    in_apollo = recalled_texts(make_conversation(user, project=apollo), question)
    in_zephyr = recalled_texts(make_conversation(user, project=zephyr), question)
    outside = recalled_texts(make_conversation(user), question)

    assert "Decided to deploy the billing service on Fridays" in in_apollo
    assert "Decided to deploy the billing service on Mondays" not in in_apollo
    assert "Decided to deploy the billing service on Mondays" in in_zephyr
    assert "Decided to deploy the billing service on Fridays" not in in_zephyr
    assert outside == ["Prefers short answers about the billing service"]
    assert "Prefers short answers about the billing service" in in_apollo


def test_the_same_fact_told_in_two_projects_is_kept_in_each(user, two_projects, make_memory):
    apollo, zephyr = two_projects
    first = make_memory(user, "The staging database is Postgres 16", project_id=apollo.pk)
    second = make_memory(user, "The staging database is Postgres 16", project_id=zephyr.pk)

    assert first.pk != second.pk
    assert (first.project_id, second.project_id) == (apollo.pk, zephyr.pk)


def test_slots_supersede_only_within_a_scope(user, two_projects, make_memory):
    apollo, zephyr = two_projects
    old = make_memory(user, "Status: waiting for review", slot="status", project_id=apollo.pk)
    make_memory(user, "Status: shipped", slot="status", project_id=zephyr.pk)

    old.refresh_from_db()
    assert old.status == Memory.Status.ACTIVE


def test_search_masks_other_scopes_before_scoring(user, two_projects):
    apollo, _ = two_projects
    hits = retrieval.search(
        user.pk, "billing service on Mondays", limit=10, scopes=Scopes.of(apollo.pk)
    )
    found = Memory.objects.in_bulk([hit.memory_id for hit in hits])
    assert found
    assert {memory.project_id for memory in found.values()} == {apollo.pk}
    assert retrieval.search(user.pk, "billing service on Mondays", limit=10, scopes=PERSON_ONLY)


def test_project_only_chats_read_no_person_level_memories(user, two_projects, make_conversation):
    apollo, _ = two_projects
    apollo.memory_mode = Project.MemoryMode.PROJECT_ONLY
    apollo.save()

    texts = recalled_texts(make_conversation(user, project=apollo), "deployments billing service")

    assert texts == ["Decided to deploy the billing service on Fridays"]


def test_projects_with_colliding_names_of_two_accounts_stay_apart(
    user, other_user, make_project, make_memory, make_conversation
):
    mine = make_project(user, "Apollo")
    theirs = make_project(other_user, "apollo")
    make_memory(other_user, "The launch code name is Bluebird", project_id=theirs.pk)

    assert recalled_texts(make_conversation(user, project=mine), "launch code name") == []


def test_a_memory_cannot_be_written_into_another_accounts_project(
    user, other_user, make_project, make_memory
):
    from memories.services import InvalidMemory

    theirs = make_project(other_user, "Theirs")
    with pytest.raises(InvalidMemory):
        make_memory(user, "Sneaky", project_id=theirs.pk)


def test_deleting_a_project_deletes_its_memories_never_the_persons(
    user, two_projects, make_conversation, make_message, make_memory
):
    apollo, _ = two_projects
    said_there = make_message(make_conversation(user, project=apollo), "I like the Apollo team")
    learned_there = make_memory(
        user, "Likes the Apollo team", kind="preference", source_message=said_there
    )
    project_id = apollo.pk

    delete_project(apollo)

    assert not Memory.objects.filter(project_id=project_id).exists()
    assert Memory.objects.filter(pk=learned_there.pk).exists()
    assert Memory.objects.filter(text="Prefers short answers about the billing service").exists()
    assert not retrieval.search(
        user.pk, "billing service on Fridays", limit=5, scopes=Scopes.of(project_id)
    )
