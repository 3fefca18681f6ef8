"""Another account's memories are a 404 everywhere, and every change needs the CSRF token."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from memories import services
from memories.models import Memory
from tests.memories.pages import HTMX

MEMORY_GET_URLS = ["memories:detail", "memories:history", "memories:row", "memories:edit"]
MEMORY_POST_URLS = [
    "memories:edit",
    "memories:delete",
    "memories:undo_delete",
    "memories:restore",
    "memories:approve",
    "memories:discard",
    "memories:confirm",
    "memories:outdated",
]
ACCOUNT_POST_URLS = [
    "memories:add",
    "memories:bulk_delete",
    "memories:bulk_undo",
    "memories:delete_all",
    "memories:settings",
    "memories:preview",
    "memories:import",
]


@pytest.mark.parametrize("name", MEMORY_GET_URLS)
def test_another_users_memory_is_a_404_on_every_page(client_for, other_user, memory, name):
    response = client_for(other_user).get(reverse(name, args=[memory.pk]), **HTMX)

    assert response.status_code == 404


@pytest.mark.parametrize("name", MEMORY_POST_URLS)
def test_another_users_memory_is_a_404_on_every_change(client_for, other_user, user, name):
    memory = services.add_memory(user, "Lives in Berlin", needs_approval=True).memory
    before = Memory.objects.filter(pk=memory.pk).values().get()

    response = client_for(other_user).post(
        reverse(name, args=[memory.pk]), {"text": "hacked", "kind": "other"}, **HTMX
    )

    assert response.status_code == 404
    assert Memory.objects.filter(pk=memory.pk).values().get() == before


def test_undo_of_another_users_deleted_memory_is_a_404(client_for, other_user, user, memory):
    services.delete_memory(user, memory.pk)

    response = client_for(other_user).post(reverse("memories:undo_delete", args=[memory.pk]))

    assert response.status_code == 404
    assert Memory.objects.get(pk=memory.pk).status == Memory.Status.DELETED


def test_another_users_export_never_contains_my_memories(client_for, other_user, memory):
    data = json.loads(client_for(other_user).get(reverse("memories:export")).content)

    assert data["memories"] == []


@pytest.fixture
def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize("name", MEMORY_POST_URLS)
def test_memory_changes_need_the_csrf_token(csrf_client, user, name):
    memory = services.add_memory(user, "Lives in Berlin", needs_approval=True).memory

    response = csrf_client.post(reverse(name, args=[memory.pk]), {"text": "x"}, **HTMX)

    assert response.status_code == 403


@pytest.mark.parametrize("name", ACCOUNT_POST_URLS)
def test_account_wide_changes_need_the_csrf_token(csrf_client, memory, name):
    response = csrf_client.post(reverse(name), {"confirmation": "DELETE", "ids": [memory.pk]})

    assert response.status_code == 403
    assert Memory.objects.get(pk=memory.pk).status == Memory.Status.ACTIVE


def test_the_same_change_with_the_csrf_token_goes_through(csrf_client, memory):
    csrf_client.get(reverse("memories:list"))
    token = csrf_client.cookies["csrftoken"].value

    response = csrf_client.post(
        reverse("memories:delete", args=[memory.pk]), HTTP_X_CSRFTOKEN=token, **HTMX
    )

    assert response.status_code == 200
    assert Memory.objects.get(pk=memory.pk).status == Memory.Status.DELETED
