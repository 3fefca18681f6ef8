"""The memory service: ownership, changes reaching the next prompt, supersession, expiry."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from memories import recall, selectors, services
from memories.models import Memory, MemoryAccess, MemoryEvent, MemoryKind
from memories.scopes import EVERYWHERE, PERSON_ONLY


def injected_texts(owner, text: str) -> list[str]:
    return [item.memory.text for item in recall.recall(owner, text, scopes=PERSON_ONLY)]


@pytest.fixture
def berlin(user) -> Memory:
    return services.add_memory(user, "Lives in Berlin", kind="profile", slot="profile:home").memory


def test_editing_a_memory_changes_what_the_next_prompt_gets(user, berlin):
    services.update_memory(user, berlin.pk, text="Lives in Porto, by the river")

    injected = injected_texts(user, "Which city do I live in?")

    assert injected == ["Lives in Porto, by the river"]


def test_an_edit_is_searchable_by_its_new_words_at_once(user):
    memory = services.add_memory(user, "Owns a bicycle").memory
    services.update_memory(user, memory.pk, text="Owns a sailboat named Aurora")

    found = selectors.search_memories(user, "Aurora sailboat", scopes=EVERYWHERE)

    assert [item.memory.pk for item in found][:1] == [memory.pk]


def test_deleting_a_memory_removes_it_from_the_next_prompt_and_undo_brings_it_back(user, berlin):
    services.delete_memory(user, berlin.pk)
    assert injected_texts(user, "Where do I live?") == []

    services.undo_delete(user, berlin.pk)
    assert injected_texts(user, "Where do I live?") == ["Lives in Berlin"]


def test_a_new_fact_in_the_same_slot_supersedes_the_old_one_with_history(user, berlin):
    lisbon = services.add_memory(
        user, "Lives in Lisbon", kind="profile", slot="profile:home"
    ).memory

    berlin.refresh_from_db()
    assert berlin.status == Memory.Status.SUPERSEDED
    assert berlin.superseded_by == lisbon
    assert injected_texts(user, "Where do I live?") == ["Lives in Lisbon"]
    event = berlin.events.get(action=MemoryEvent.Action.SUPERSEDED)
    assert (event.old_text, event.new_text) == ("Lives in Berlin", "Lives in Lisbon")


def test_restoring_a_superseded_memory_undoes_the_supersession(user, berlin):
    lisbon = services.add_memory(
        user, "Lives in Lisbon", kind="profile", slot="profile:home"
    ).memory

    services.restore_memory(user, berlin.pk)

    lisbon.refresh_from_db()
    assert lisbon.status == Memory.Status.SUPERSEDED
    assert injected_texts(user, "Where do I live?") == ["Lives in Berlin"]
    assert berlin.events.filter(action=MemoryEvent.Action.RESTORED).exists()


def test_the_same_fact_is_never_stored_twice(user):
    first = services.add_memory(user, "Prefers window seats")
    again = services.add_memory(user, "prefers window seats.")
    reworded = services.add_memory(user, "Prefers window seats!")

    assert first.created and not again.created and not reworded.created
    assert Memory.objects.filter(owner=user).count() == 1


def test_a_fact_said_in_other_words_is_a_duplicate_too(user):
    services.add_memory(user, "Prefers a window seat on flights")

    again = services.add_memory(user, "Prefers window seats on flights")

    assert not again.created


def test_different_users_may_remember_the_same_fact(user, other_user):
    services.add_memory(user, "Prefers window seats")

    result = services.add_memory(other_user, "Prefers window seats")

    assert result.created


@pytest.mark.parametrize(
    "call",
    [
        lambda owner, pk: selectors.get_memory(owner, pk),
        lambda owner, pk: selectors.history_of(owner, pk),
        lambda owner, pk: services.update_memory(owner, pk, text="hijacked"),
        lambda owner, pk: services.delete_memory(owner, pk),
        lambda owner, pk: services.undo_delete(owner, pk),
        lambda owner, pk: services.supersede(owner, pk, by=None),
        lambda owner, pk: services.restore_memory(owner, pk),
        lambda owner, pk: services.approve_memory(owner, pk),
        lambda owner, pk: services.discard_pending(owner, pk),
        lambda owner, pk: services.confirm_memory(owner, pk),
    ],
)
def test_another_users_memory_id_is_not_found(call, user, other_user, berlin):
    with pytest.raises(selectors.MemoryNotFound):
        call(other_user, berlin.pk)

    berlin.refresh_from_db()
    assert berlin.text == "Lives in Berlin" and berlin.status == Memory.Status.ACTIVE


def test_a_malformed_memory_id_is_not_found(user):
    with pytest.raises(selectors.MemoryNotFound):
        selectors.get_memory(user, "not-a-uuid")


def test_search_and_recall_never_cross_owners(user, other_user, berlin):
    assert selectors.search_memories(other_user, "Berlin", scopes=EVERYWHERE) == []
    assert recall.recall(other_user, "Where do I live? Berlin?", scopes=PERSON_ONLY) == []
    assert services.delete_memories(other_user, [berlin.pk]) == 0


def test_expired_memories_are_never_injected_and_get_purged(user):
    past = timezone.now() - timedelta(minutes=1)
    expired = services.add_memory(user, "Is in a meeting until noon", expires_at=past).memory
    services.add_memory(user, "Meets the accountant on Fridays")

    assert injected_texts(user, "When is my meeting?") == ["Meets the accountant on Fridays"]

    call_command("purge_memories")
    assert not Memory.objects.filter(pk=expired.pk).exists()


def test_purge_removes_deleted_memories_only_after_the_undo_window(user, settings):
    memory = services.add_memory(user, "Has a dentist appointment").memory
    services.delete_memory(user, memory.pk)

    services.purge_expired()
    assert Memory.objects.filter(pk=memory.pk).exists()

    services.purge_expired(now=timezone.now() + timedelta(days=settings.MEMORY_UNDO_DAYS + 1))
    assert not Memory.objects.filter(pk=memory.pk).exists()


def test_pending_memories_are_never_injected_until_approved(user):
    services.set_require_approval(user, True)
    pending = services.add_memory(user, "Is training for a marathon", kind="task").memory
    assert pending.status == Memory.Status.PENDING
    assert injected_texts(user, "What am I training for?") == []

    services.approve_memory(user, pending.pk)

    assert injected_texts(user, "What am I training for?") == ["Is training for a marathon"]


def test_saying_a_stale_memory_is_still_true_refreshes_it(user, settings):
    settings.MEMORY_STALE_AFTER_DAYS = {"task": 30}
    memory = services.add_memory(user, "Is renovating the kitchen", kind="task").memory
    Memory.objects.filter(pk=memory.pk).update(confirmed_at=timezone.now() - timedelta(days=40))

    assert [m.pk for m in selectors.stale_memories(user)] == [memory.pk]
    services.confirm_memory(user, memory.pk)
    assert selectors.stale_memories(user) == []


def test_deleting_the_account_deletes_its_memories_history_and_access_log(
    user, conversation, make_message
):
    answer = make_message(conversation, "hi", role="assistant")
    memory = services.add_memory(user, "Lives in Berlin").memory
    recall.record_use([selectors.RecalledMemory(memory, 1.0)], answer)

    user.delete()

    assert not Memory.objects.exists()
    assert not MemoryEvent.objects.exists()
    assert not MemoryAccess.objects.exists()


def test_delete_all_memories_leaves_other_users_alone(user, other_user):
    services.add_memory(user, "Lives in Berlin")
    services.add_memory(other_user, "Lives in Madrid")

    services.delete_all_memories(user)

    assert injected_texts(user, "Where do I live?") == []
    assert injected_texts(other_user, "Where do I live?") == ["Lives in Madrid"]


def test_forgetting_by_description_deletes_the_matching_memory_only(user):
    services.add_memory(user, "Likes green tea", kind=MemoryKind.PREFERENCE)
    services.add_memory(user, "Lives in Berlin", kind=MemoryKind.PROFILE)

    forgotten = services.forget_matching(user, "that I like green tea", scopes=PERSON_ONLY)

    assert [m.text for m in forgotten] == ["Likes green tea"]
    assert [m.text for m in selectors.memories_of(user).filter(status="active")] == [
        "Lives in Berlin"
    ]
