"""Adding a memory by hand, editing one inline, restoring a version, approving a pending one."""

import json
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from memories import selectors, services
from memories.models import Memory, MemoryEvent
from memories.scopes import EVERYWHERE
from tests.memories.pages import HTMX


def test_adding_a_memory_by_hand(client, user):
    expires = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")

    response = client.post(
        reverse("memories:add"),
        {
            "text": "Is training for a 10k",
            "kind": "task",
            "tags": "health, Running",
            "expires_at": expires,
        },
    )

    memory = Memory.objects.get(owner=user)
    assert response.status_code == 302 and response["Location"] == memory.get_absolute_url()
    assert (memory.text, memory.kind, memory.tags) == (
        "Is training for a 10k",
        "task",
        ["health", "running"],
    )
    assert memory.status == Memory.Status.ACTIVE and memory.expires_at is not None


def test_adding_with_htmx_returns_a_fresh_form_and_refreshes_the_list(client, user):
    response = client.post(
        reverse("memories:add"), {"text": "Owns a kayak", "kind": "other"}, **HTMX
    )

    assert response.status_code == 200
    assert 'id="add-memory"' in response.content.decode()
    assert "Saved:" in response.content.decode()
    assert "memory-list-changed" in json.loads(response["HX-Trigger"])
    assert Memory.objects.filter(owner=user, text="Owns a kayak").exists()


def test_hand_added_memories_skip_approval_even_in_approval_mode(client, user):
    services.set_require_approval(user, True)

    client.post(reverse("memories:add"), {"text": "Owns a kayak", "kind": "other"})

    assert Memory.objects.get(owner=user).status == Memory.Status.ACTIVE


def test_adding_rejects_an_empty_text_and_an_expiry_in_the_past(client, user):
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    empty = client.post(reverse("memories:add"), {"text": "  ", "kind": "other"}, **HTMX)
    stale = client.post(reverse("memories:add"), {"text": "x", "kind": "other", "expires_at": past})

    assert empty.status_code == 400 and stale.status_code == 400
    assert "This field is required." in empty.content.decode()
    assert "in the future" in stale.content.decode()
    assert not Memory.objects.exists()


def test_inline_edit_form_and_cancel_render_the_row(client, memory):
    form = client.get(reverse("memories:edit", args=[memory.pk]), **HTMX)
    row = client.get(reverse("memories:row", args=[memory.pk]), **HTMX)

    assert 'class="form memory-edit"' in form.content.decode()
    assert 'value="Likes hiking in the Alps"' not in form.content.decode()  # a textarea
    assert "Likes hiking in the Alps</textarea>" in form.content.decode()
    assert f'id="memory-{memory.pk}"' in row.content.decode()


def test_inline_edit_saves_text_kind_tags_and_expiry(client, user, memory):
    expires = (timezone.localtime() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")

    response = client.post(
        reverse("memories:edit", args=[memory.pk]),
        {
            "text": "Likes hiking in the Dolomites",
            "kind": "profile",
            "tags": "outdoors",
            "expires_at": expires,
        },
        **HTMX,
    )

    memory.refresh_from_db()
    assert response.status_code == 200
    assert "Likes hiking in the Dolomites" in response.content.decode()
    assert "memory-changed" in json.loads(response["HX-Trigger"])
    assert (memory.text, memory.kind, memory.tags) == (
        "Likes hiking in the Dolomites",
        "profile",
        ["outdoors"],
    )
    assert memory.expires_at is not None
    assert memory.events.filter(action=MemoryEvent.Action.EDITED).exists()
    # Re-embedded at once: the new words are searchable right away.
    assert selectors.search_memories(user, "Dolomites", scopes=EVERYWHERE)[0].memory.pk == memory.pk


def test_edit_with_errors_keeps_the_form_open(client, memory):
    response = client.post(
        reverse("memories:edit", args=[memory.pk]), {"text": "", "kind": "other"}, **HTMX
    )

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    memory.refresh_from_db()
    assert memory.text == "Likes hiking in the Alps"


def test_edit_without_htmx_redirects_to_the_detail_page(client, memory):
    response = client.post(
        reverse("memories:edit", args=[memory.pk]), {"text": "Likes hiking", "kind": "preference"}
    )

    assert response.status_code == 302 and response["Location"] == memory.get_absolute_url()


def test_restore_this_version_of_a_superseded_memory(client, user):
    berlin = services.add_memory(user, "Lives in Berlin", slot="profile:home").memory
    lisbon = services.add_memory(user, "Lives in Lisbon", slot="profile:home").memory

    detail = client.get(reverse("memories:detail", args=[berlin.pk])).content.decode()
    assert "Restore this version" in detail and lisbon.get_absolute_url() in detail

    response = client.post(reverse("memories:restore", args=[berlin.pk]))

    assert response.status_code == 302
    berlin.refresh_from_db()
    lisbon.refresh_from_db()
    assert berlin.status == Memory.Status.ACTIVE
    assert lisbon.status == Memory.Status.SUPERSEDED


def test_restoring_an_active_memory_is_refused(client, memory):
    response = client.post(reverse("memories:restore", args=[memory.pk]), **HTMX)

    assert response.status_code == 409


def test_pending_memory_can_be_saved_with_edited_text_or_discarded(client, user):
    first = services.add_memory(user, "Likes jazz", needs_approval=True).memory
    second = services.add_memory(user, "Hates olives", needs_approval=True).memory

    saved = client.post(
        reverse("memories:approve", args=[first.pk]), {"text": "Loves jazz"}, **HTMX
    )
    discarded = client.post(reverse("memories:discard", args=[second.pk]), **HTMX)

    first.refresh_from_db()
    assert saved.status_code == 200 and first.status == Memory.Status.ACTIVE
    assert first.text == "Loves jazz"
    assert discarded.status_code == 200 and discarded.content == b""
    assert not Memory.objects.filter(pk=second.pk).exists()
