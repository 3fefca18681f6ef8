"""The memory dashboard through the test client: the owner sees and changes only their memories."""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chat.models import Message
from memories import recall, selectors, services
from memories.models import Memory, MemoryAccess, MemoryEvent
from tests.memories.pages import HOSTILE, HTMX


@pytest.fixture
def memory(user) -> Memory:
    return services.add_memory(user, "Likes hiking in the Alps", kind="preference").memory


def listed_texts(response) -> list[str]:
    return [memory.text for memory in response.context["page"].object_list]


# --- the list ----------------------------------------------------------------------------------


def test_dashboard_lists_only_the_owners_memories(client, memory, other_user):
    services.add_memory(other_user, "Mallory's secret plan")

    response = client.get(reverse("memories:list"))

    assert response.status_code == 200
    assert listed_texts(response) == ["Likes hiking in the Alps"]
    assert "Mallory" not in response.content.decode()


def test_dashboard_requires_login(db):
    response = Client().get(reverse("memories:list"))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_htmx_filter_request_gets_only_the_list_partial(client, memory):
    response = client.get(reverse("memories:list"), {"contains": "hiking"}, **HTMX)

    content = response.content.decode()
    assert content.lstrip().startswith('<div id="memory-list"')
    assert "<html" not in content
    assert "Likes hiking in the Alps" in content
    assert response["Vary"].count("HX-Request") == 1


def test_history_restore_request_gets_the_full_page(client, memory):
    response = client.get(reverse("memories:list"), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)

    assert "<html" in response.content.decode()


def test_plain_text_filter_matches_case_insensitively(client, user, memory):
    services.add_memory(user, "Owns a cat named Mochi")

    response = client.get(reverse("memories:list"), {"contains": "MOCHI"})

    assert listed_texts(response) == ["Owns a cat named Mochi"]


def test_semantic_search_finds_memories_by_meaning_best_first(client, user, memory):
    services.add_memory(user, "Works as a dentist in Leeds", kind="profile")
    services.add_memory(user, "Allergic to peanuts", kind="profile")

    response = client.get(reverse("memories:list"), {"search": "mountain walks"})

    assert listed_texts(response)[0] == "Likes hiking in the Alps"
    assert "Allergic to peanuts" not in listed_texts(response)


def test_filters_by_kind_tag_conversation_and_date(client, user, conversation, memory):
    source = Message.objects.create(conversation=conversation, role="user", content="I run daily")
    tagged = services.add_memory(user, "Runs every morning", tags=["health"], kind="task").memory
    learned = services.add_memory(user, "Runs marathons", source_message=source).memory
    old = services.add_memory(user, "Used to live in Oslo").memory
    Memory.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))

    def texts(**query):
        return listed_texts(client.get(reverse("memories:list"), query))

    assert texts(kind="task") == [tagged.text]
    assert texts(tag="health") == [tagged.text]
    assert texts(conversation=conversation.pk) == [learned.text]
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert old.text not in texts(created_from=since)
    assert texts(created_to=(timezone.localdate() - timedelta(days=2)).isoformat()) == [old.text]


def test_superseded_and_expired_memories_show_only_when_asked(client, user):
    old = services.add_memory(user, "Lives in Berlin", slot="profile:home").memory
    services.add_memory(user, "Lives in Lisbon", slot="profile:home")
    expired = services.add_memory(user, "Has a dentist appointment on Monday").memory
    Memory.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    default = listed_texts(client.get(reverse("memories:list")))
    everything = listed_texts(
        client.get(reverse("memories:list"), {"include_superseded": "on", "include_expired": "on"})
    )

    assert default == ["Lives in Lisbon"]
    assert old.text in everything and expired.text in everything


def test_sorting_by_most_and_last_used(client, user):
    rarely = services.add_memory(user, "Plays chess").memory
    often = services.add_memory(user, "Speaks Portuguese").memory
    Memory.objects.filter(pk=often.pk).update(use_count=5, last_used_at=timezone.now())
    Memory.objects.filter(pk=rarely.pk).update(
        use_count=1, last_used_at=timezone.now() - timedelta(days=3)
    )
    never = services.add_memory(user, "Drinks oat milk").memory

    most_used = listed_texts(client.get(reverse("memories:list"), {"ordering": "most_used"}))
    last_used = listed_texts(client.get(reverse("memories:list"), {"ordering": "last_used"}))
    newest = listed_texts(client.get(reverse("memories:list"), {"ordering": "newest"}))

    assert most_used == [often.text, rarely.text, never.text]
    assert last_used == [often.text, rarely.text, never.text]
    assert newest[0] == never.text


def test_list_is_paginated_and_keeps_the_filters(client, user):
    # Straight to the table: thirty look-alike texts would be merged as duplicates.
    Memory.objects.bulk_create(
        Memory(owner=user, text=f"Fact {number} about trains", content_hash=str(number))
        for number in range(30)
    )

    first = client.get(reverse("memories:list"), {"contains": "trains"})
    second = client.get(reverse("memories:list"), {"contains": "trains", "page": 2})

    assert len(listed_texts(first)) == 25
    assert len(listed_texts(second)) == 5
    assert "?contains=trains&amp;page=2" in first.content.decode()


def test_memory_text_is_escaped_in_the_list(client, user):
    services.add_memory(user, HOSTILE)

    content = client.get(reverse("memories:list")).content.decode()

    assert "<script>alert" not in content
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in content


# --- adding, editing, deleting ------------------------------------------------------------------


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
    assert selectors.search_memories(user, "Dolomites")[0].memory.pk == memory.pk


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


# --- detail, history, restore, approve -----------------------------------------------------------


def test_detail_shows_source_history_and_the_answers_that_used_it(client, user, conversation):
    source = Message.objects.create(
        conversation=conversation, role="user", content="I live in Berlin"
    )
    memory = services.add_memory(user, "Lives in Berlin", source_message=source).memory
    services.update_memory(user, memory.pk, text="Lives in Berlin, Kreuzberg")
    answer = Message.objects.create(conversation=conversation, role="assistant", content="Hallo!")
    MemoryAccess.objects.create(memory=memory, message=answer, score=0.5)

    content = client.get(reverse("memories:detail", args=[memory.pk])).content.decode()

    conversation_url = reverse("chat:conversation", args=[conversation.pk])
    assert f'href="{conversation_url}#message-{source.pk}"' in content
    assert "I live in Berlin" in content
    assert "<del>Lives in Berlin</del> → <ins>Lives in Berlin, Kreuzberg</ins>" in content
    assert f'href="{conversation_url}#message-{answer.pk}"' in content


def test_history_partial_and_page(client, user, memory):
    services.update_memory(user, memory.pk, text="Likes hiking in Norway")

    partial = client.get(reverse("memories:history", args=[memory.pk]), **HTMX)
    page = client.get(reverse("memories:history", args=[memory.pk]))

    assert partial.content.decode().lstrip().startswith('<ol class="history">')
    assert "Edited" in partial.content.decode() and "Added" in partial.content.decode()
    assert "<html" in page.content.decode()


def test_memory_text_is_escaped_on_the_detail_page(client, user, conversation):
    source = Message.objects.create(conversation=conversation, role="user", content=HOSTILE)
    memory = services.add_memory(user, HOSTILE, source_message=source).memory
    services.update_memory(user, memory.pk, text=HOSTILE + " again")

    content = client.get(reverse("memories:detail", args=[memory.pk])).content.decode()

    assert "<script>alert" not in content
    assert "&lt;script&gt;" in content


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


def test_stale_memory_question_yes_confirms_and_no_supersedes(client, user, settings):
    settings.MEMORY_STALE_AFTER_DAYS = {"task": 30}
    long_ago = timezone.now() - timedelta(days=60)
    still = services.add_memory(user, "Is renovating the kitchen", kind="task").memory
    gone = services.add_memory(user, "Is planning a trip to Peru", kind="task").memory
    Memory.objects.filter(pk__in=[still.pk, gone.pk]).update(confirmed_at=long_ago)

    dashboard = client.get(reverse("memories:list")).content.decode()
    assert "Is this still true?" in dashboard and "trip to Peru" in dashboard

    yes = client.post(reverse("memories:confirm", args=[still.pk]), **HTMX)
    no = client.post(reverse("memories:outdated", args=[gone.pk]), **HTMX)

    still.refresh_from_db()
    gone.refresh_from_db()
    assert yes.status_code == 200 and still.confirmed_at > long_ago
    assert no.status_code == 200 and gone.status == Memory.Status.SUPERSEDED
    assert "Is this still true?" not in client.get(reverse("memories:list")).content.decode()


# --- settings and preview ----------------------------------------------------------------------


def test_settings_card_pauses_memory_and_switches_approval(client, user):
    response = client.post(
        reverse("memories:settings"), {"paused": "on", "require_approval": "on"}, **HTMX
    )

    prefs = selectors.memory_settings(user)
    assert response.status_code == 200 and "Saved." in response.content.decode()
    assert prefs.paused and prefs.require_approval

    client.post(reverse("memories:settings"), {})

    prefs.refresh_from_db()
    assert not prefs.paused and not prefs.require_approval


def test_preview_shows_exactly_what_would_be_injected(client, user, memory):
    services.add_memory(user, "Allergic to peanuts", kind="profile")

    response = client.post(
        reverse("memories:preview"), {"message": "Any good hikes near Innsbruck?"}, **HTMX
    )

    content = response.content.decode()
    assert response.context["recalled"][0].memory.pk == memory.pk
    assert "&lt;user_memories&gt;" in content
    assert "Likes hiking in the Alps (preference," in content
    assert response.context["context_block"] == recall.context_block(
        recall.recall(user, "Any good hikes near Innsbruck?")
    )


def test_preview_for_small_talk_injects_nothing(client, memory):
    response = client.post(reverse("memories:preview"), {"message": "thanks!"}, **HTMX)

    assert "No memory would be injected" in response.content.decode()


def test_preview_never_shows_another_users_memories(client, other_user):
    services.add_memory(other_user, "Mallory likes hiking in the Alps")

    response = client.post(reverse("memories:preview"), {"message": "hiking in the Alps"}, **HTMX)

    assert "Mallory" not in response.content.decode()


# --- export and import --------------------------------------------------------------------------


def test_export_downloads_all_memories_with_history(client, user, memory, other_user):
    services.update_memory(user, memory.pk, text="Likes hiking in Norway")
    services.add_memory(other_user, "Mallory's note")

    response = client.get(reverse("memories:export"))

    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="memories-')
    data = json.loads(response.content)
    assert [item["text"] for item in data["memories"]] == ["Likes hiking in Norway"]
    assert [event["action"] for event in data["memories"][0]["history"]] == ["edited", "added"]


def test_import_adds_new_memories_and_skips_duplicates(
    client, client_for, user, memory, other_user
):
    services.add_memory(other_user, "Speaks Italian")
    services.add_memory(other_user, "Likes hiking in the Alps")
    exported = client_for(other_user).get(reverse("memories:export")).content
    upload = SimpleUploadedFile("memories.json", exported, content_type="application/json")

    response = client.post(reverse("memories:import"), {"file": upload})

    result = response.context["result"]
    assert response.status_code == 200
    assert (result.added, result.skipped) == (1, 1)
    assert "Added 1, skipped 1 already known" in response.content.decode()
    assert sorted(Memory.objects.filter(owner=user).values_list("text", flat=True)) == [
        "Likes hiking in the Alps",
        "Speaks Italian",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json at all", "not valid JSON"),
        (b'{"format": "something-else", "memories": []}', "not a memory export"),
        (b'{"format": "recall-memories/1", "memories": ["just a string"]}', "not a memory export"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_a_bad_import_file_is_refused_with_a_clear_error_and_nothing_lost(
    client, user, memory, content, message
):
    upload = SimpleUploadedFile("memories.json", content, content_type="application/json")

    response = client.post(reverse("memories:import"), {"file": upload})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(Memory.objects.filter(owner=user)) == [memory]


def test_import_reports_unreadable_entries(client, user):
    data = {
        "format": "recall-memories/1",
        "memories": [
            {"text": "Owns a canoe"},
            {"text": "x", "kind": "nonsense"},
            {"kind": "other"},
        ],
    }
    upload = SimpleUploadedFile(
        "m.json", json.dumps(data).encode(), content_type="application/json"
    )

    response = client.post(reverse("memories:import"), {"file": upload})

    result = response.context["result"]
    assert result.added == 1 and len(result.errors) == 2
    assert "could not be read" in response.content.decode()


# --- ownership and CSRF -------------------------------------------------------------------------

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


def test_memory_text_is_escaped_in_the_preview(client, user):
    services.add_memory(user, "Likes hiking " + HOSTILE)

    content = client.post(
        reverse("memories:preview"), {"message": "Do I like hiking?"}, **HTMX
    ).content.decode()

    assert "<script>alert" not in content
    assert content.count("&lt;script&gt;") == 2
