"""The memory admin: read-only views for staff, escaped text, and the two account-wide actions."""

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from memories import recall, selectors, services
from memories.models import Memory, MemoryAccess, MemoryEvent
from memories.scopes import PERSON_ONLY
from tests.memories.pages import HOSTILE


@pytest.fixture
def memory(user) -> Memory:
    return services.add_memory(user, "Likes hiking in the Alps", kind="preference").memory


def test_memory_list_shows_owner_text_kind_status_and_use(admin_client, memory):
    response = admin_client.get(reverse("admin:memories_memory_changelist"))

    content = response.content.decode()
    assert response.status_code == 200
    for column in ("Owner", "Text", "Kind", "Status", "Created at", "Last used at", "Use count"):
        assert column in content
    assert "Likes hiking in the Alps" in content and "alice" in content


def test_memory_list_searches_by_owner_and_text_and_filters_by_kind(
    admin_client, memory, other_user
):
    theirs = services.add_memory(other_user, "Owns a red bicycle", kind="profile").memory
    url = reverse("admin:memories_memory_changelist")

    by_owner = admin_client.get(url, {"q": "mallory"}).context["cl"].result_list
    by_text = admin_client.get(url, {"q": "hiking"}).context["cl"].result_list
    by_kind = admin_client.get(url, {"kind__exact": "profile"}).context["cl"].result_list
    by_status = admin_client.get(url, {"status__exact": "superseded"}).context["cl"].result_list

    assert list(by_owner) == [theirs]
    assert list(by_text) == [memory]
    assert list(by_kind) == [theirs]
    assert list(by_status) == []


def test_memory_text_renders_escaped_in_the_admin(admin_client, user):
    memory = services.add_memory(user, HOSTILE).memory
    services.update_memory(user, memory.pk, text=HOSTILE + " edited")

    listing = admin_client.get(reverse("admin:memories_memory_changelist")).content.decode()
    page = admin_client.get(
        reverse("admin:memories_memory_change", args=[memory.pk])
    ).content.decode()

    for content in (listing, page):
        assert "<script>alert" not in content
        assert "&lt;script&gt;" in content


def test_memory_page_shows_history_and_accesses_read_only(
    admin_client, user, conversation, make_message
):
    memory = services.add_memory(user, "Lives in Berlin").memory
    services.update_memory(user, memory.pk, text="Lives in Potsdam")
    answer = make_message(conversation, "Hi", role="assistant")
    MemoryAccess.objects.create(memory=memory, message=answer, score=0.7)

    response = admin_client.get(reverse("admin:memories_memory_change", args=[memory.pk]))

    content = response.content.decode()
    assert "Lives in Potsdam" in content and "edited" in content
    assert "0.7" in content
    assert 'name="text"' not in content
    assert 'type="submit" value="Save"' not in content


def test_memories_cannot_be_added_or_changed_through_the_admin(admin_client, memory):
    add = admin_client.get(reverse("admin:memories_memory_add"))
    change = admin_client.post(
        reverse("admin:memories_memory_change", args=[memory.pk]), {"text": "hacked"}
    )

    assert add.status_code == 403
    assert change.status_code == 403
    memory.refresh_from_db()
    assert memory.text == "Likes hiking in the Alps"


def test_memory_access_admin_is_read_only(admin_client, memory, conversation, make_message):
    answer = make_message(conversation, "Hi", role="assistant")
    access = MemoryAccess.objects.create(memory=memory, message=answer)

    listing = admin_client.get(reverse("admin:memories_memoryaccess_changelist"))
    add = admin_client.get(reverse("admin:memories_memoryaccess_add"))
    delete = admin_client.post(
        reverse("admin:memories_memoryaccess_delete", args=[access.pk]), {"post": "yes"}
    )

    assert listing.status_code == 200
    assert add.status_code == 403
    assert delete.status_code == 403
    assert MemoryAccess.objects.filter(pk=access.pk).exists()


def test_memory_settings_admin_switches_pause_and_approval(admin_client, user):
    prefs = selectors.memory_settings(user)

    response = admin_client.post(
        reverse("admin:memories_memorysettings_change", args=[prefs.pk]),
        {"paused": "on", "require_approval": "on"},
    )

    prefs.refresh_from_db()
    assert response.status_code == 302
    assert prefs.paused and prefs.require_approval


def run_action(admin_client, action: str, memories: list[Memory]):
    return admin_client.post(
        reverse("admin:memories_memory_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [m.pk for m in memories]},
    )


def test_export_action_downloads_the_selected_owners_memories(admin_client, user, other_user):
    mine = services.add_memory(user, "Likes hiking").memory
    services.add_memory(user, "Speaks Dutch")
    services.add_memory(other_user, "Owns a red bicycle")

    response = run_action(admin_client, "export_owners_memories", [mine])

    assert response["Content-Disposition"].startswith("attachment;")
    exports = json.loads(response.content)
    assert list(exports) == ["alice"]
    assert sorted(item["text"] for item in exports["alice"]["memories"]) == [
        "Likes hiking",
        "Speaks Dutch",
    ]
    assert exports["alice"]["memories"][0]["history"]


def test_delete_action_removes_every_memory_of_the_selected_owners(admin_client, user, other_user):
    mine = services.add_memory(user, "Likes hiking").memory
    services.add_memory(user, "Speaks Dutch")
    theirs = services.add_memory(other_user, "Owns a red bicycle").memory

    response = run_action(admin_client, "delete_owners_memories", [mine])

    assert response.status_code == 302
    assert not Memory.objects.filter(owner=user).exists()
    assert not MemoryEvent.objects.filter(owner=user).exists()
    assert Memory.objects.filter(pk=theirs.pk).exists()
    assert recall.recall(user, "Do I like hiking?", scopes=PERSON_ONLY) == []
