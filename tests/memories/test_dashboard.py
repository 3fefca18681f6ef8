"""The dashboard list: filters, search, sorting, pages, and the settings and stale-memory cards."""

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from memories import selectors, services
from memories.models import Memory
from tests.memories.pages import HOSTILE, HTMX, listed_texts


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


def test_filters_by_kind_tag_conversation_and_date(
    client, user, conversation, memory, make_message
):
    source = make_message(conversation, "I run daily")
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
