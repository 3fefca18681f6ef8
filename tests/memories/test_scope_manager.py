"""The scope-aware memory manager: filter by scope, see each memory's scope, move and copy."""

import pytest
from django.urls import reverse

from chat.models import Project
from memories.models import Memory, MemoryEvent
from tests.memories.pages import listed_texts


@pytest.fixture
def project(user, make_project) -> Project:
    return make_project(user, "Apollo")


@pytest.fixture
def project_note(user, project, make_memory) -> Memory:
    return make_memory(user, "Decided to launch on Friday", kind="task", project_id=project.pk)


def test_the_dashboard_filters_by_scope_and_shows_each_memorys_scope(
    client, memory, project, project_note
):
    everything = client.get(reverse("memories:list"))
    personal = client.get(reverse("memories:list"), {"scope": "person"})
    in_project = client.get(reverse("memories:list"), {"scope": project.pk})

    assert set(listed_texts(everything)) == {memory.text, project_note.text}
    assert listed_texts(personal) == [memory.text]
    assert listed_texts(in_project) == [project_note.text]
    assert "Project: Apollo" in in_project.content.decode()
    assert "Personal" in personal.content.decode()


def test_a_memory_moves_to_a_project_and_back(client, user, memory, project):
    client.post(reverse("memories:scope", args=[memory.pk]), {"scope": project.pk})
    memory.refresh_from_db()
    assert memory.project_id == project.pk
    assert MemoryEvent.objects.filter(memory=memory, action="moved").exists()

    client.post(reverse("memories:scope", args=[memory.pk]), {"scope": "person"})
    memory.refresh_from_db()
    assert memory.project_id is None


def test_a_memory_is_copied_to_another_project(client, user, project_note, make_project):
    other = make_project(user, "Zephyr")

    client.post(reverse("memories:scope", args=[project_note.pk]), {"scope": other.pk, "copy": "1"})

    kept = Memory.objects.filter(text=project_note.text).values_list("project_id", flat=True)
    assert sorted(kept) == sorted([project_note.project_id, other.pk])


def test_moving_or_copying_to_another_accounts_project_is_a_404(
    client, memory, other_user, make_project
):
    theirs = make_project(other_user, "Theirs")
    url = reverse("memories:scope", args=[memory.pk])

    moved = client.post(url, {"scope": theirs.pk})
    copied = client.post(url, {"scope": theirs.pk, "copy": "1"})
    missing = client.post(url, {"scope": 999999})

    assert (moved.status_code, copied.status_code, missing.status_code) == (404, 404, 404)
    memory.refresh_from_db()
    assert memory.project_id is None
    assert not Memory.objects.filter(project=theirs).exists()


def test_another_accounts_memory_cannot_be_moved(client, other_user, make_project, make_memory):
    theirs = make_memory(other_user, "Their secret")

    response = client.post(reverse("memories:scope", args=[theirs.pk]), {"scope": "person"})

    assert response.status_code == 404


def test_the_project_page_lists_its_memories_and_summaries(
    client, user, project, project_note, memory, make_conversation, make_memory
):
    chat = make_conversation(user, project=project, title="Pricing")
    make_memory(
        user,
        "Chat “Pricing”: three tiers",
        kind="summary",
        project_id=project.pk,
        source_conversation=chat,
    )

    page = client.get(reverse("chat:project", args=[project.pk])).content.decode()

    assert project_note.text in page
    assert "Chat “Pricing”: three tiers" in page
    assert chat.get_absolute_url() in page
    assert memory.text not in page
