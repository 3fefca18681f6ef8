"""Deleting memories one at a time, in bulk, or all at once, and undoing it."""

import json

from django.urls import reverse

from memories import services
from memories.models import Memory, MemoryEvent
from tests.memories.pages import HTMX, listed_texts


def test_delete_shows_undo_and_undo_brings_it_back(client, user, memory):
    deleted = client.post(reverse("memories:delete", args=[memory.pk]), **HTMX)

    assert "Undo" in deleted.content.decode()
    assert reverse("memories:undo_delete", args=[memory.pk]) in deleted.content.decode()
    assert listed_texts(client.get(reverse("memories:list"))) == []

    undone = client.post(reverse("memories:undo_delete", args=[memory.pk]), **HTMX)

    assert undone.status_code == 200
    assert listed_texts(client.get(reverse("memories:list"))) == ["Likes hiking in the Alps"]


def test_delete_without_htmx_shows_a_page_with_undo(client, memory):
    response = client.post(reverse("memories:delete", args=[memory.pk]))

    assert response.status_code == 200
    assert "Memory deleted" in response.content.decode()
    assert reverse("memories:undo_delete", args=[memory.pk]) in response.content.decode()


def test_bulk_delete_deletes_the_selected_ones_and_can_be_undone(client, user, other_user):
    keep = services.add_memory(user, "Keeps bees").memory
    first = services.add_memory(user, "Plays the cello").memory
    second = services.add_memory(user, "Collects stamps").memory
    theirs = services.add_memory(other_user, "Mallory's note").memory

    response = client.post(
        reverse("memories:bulk_delete"), {"ids": [first.pk, second.pk, theirs.pk]}, **HTMX
    )

    assert "Deleted 2 memories." in response.content.decode()
    assert "memory-list-changed" in json.loads(response["HX-Trigger"])
    assert listed_texts(client.get(reverse("memories:list"))) == [keep.text]
    assert Memory.objects.get(pk=theirs.pk).status == Memory.Status.ACTIVE

    client.post(reverse("memories:bulk_undo"), {"ids": [first.pk, second.pk]}, **HTMX)

    assert len(listed_texts(client.get(reverse("memories:list")))) == 3


def test_bulk_delete_with_nothing_selected_says_so(client, memory):
    response = client.post(reverse("memories:bulk_delete"), {}, **HTMX)

    assert response.status_code == 400
    assert "Select at least one memory." in response.content.decode()


def test_delete_all_needs_the_typed_confirmation(client, user, memory, other_user):
    services.add_memory(other_user, "Mallory's note")

    page = client.get(reverse("memories:delete_all"))
    refused = client.post(reverse("memories:delete_all"), {"confirmation": "yes"})

    assert page.status_code == 200 and "Type DELETE to confirm" in page.content.decode()
    assert refused.status_code == 400
    assert Memory.objects.filter(owner=user).exists()

    done = client.post(reverse("memories:delete_all"), {"confirmation": "DELETE"})

    assert done.status_code == 302
    assert not Memory.objects.filter(owner=user).exists()
    assert not MemoryEvent.objects.filter(owner=user).exists()
    assert Memory.objects.filter(owner=other_user).exists()
