"""Every process's search index follows the database, so all processes answer alike."""

from memories import retrieval, selectors, services
from memories.index import IndexCache
from memories.scopes import EVERYWHERE


def test_a_second_process_sees_additions_edits_and_deletions(user, monkeypatch):
    other_process = IndexCache(capacity=8)
    monkeypatch.setattr(retrieval, "cache", other_process)
    memory = services.add_memory(user, "Keeps bees in the garden").memory
    assert _texts(user, "bees") == ["Keeps bees in the garden"]

    services.update_memory(user, memory.pk, text="Keeps chickens in the garden")
    assert _texts(user, "chickens garden") == ["Keeps chickens in the garden"]

    services.delete_memory(user, memory.pk)
    assert _texts(user, "chickens garden") == []


def test_a_hard_delete_makes_every_process_rebuild(user, monkeypatch):
    other_process = IndexCache(capacity=8)
    monkeypatch.setattr(retrieval, "cache", other_process)
    services.add_memory(user, "Keeps bees in the garden")
    assert _texts(user, "bees") == ["Keeps bees in the garden"]

    services.delete_all_memories(user)

    assert _texts(user, "bees") == []
    assert other_process.fresh_index(user.pk).rows == []


def test_the_least_recently_used_owner_is_dropped_when_full(make_user):
    cache = IndexCache(capacity=1)
    first, second = make_user(), make_user()
    services.add_memory(first, "Keeps bees")
    services.add_memory(second, "Keeps goats")

    cache.fresh_index(first.pk)
    cache.fresh_index(second.pk)

    assert list(cache._indexes) == [second.pk]


def _texts(owner, query: str) -> list[str]:
    return [item.memory.text for item in selectors.search_memories(owner, query, scopes=EVERYWHERE)]


def test_an_edit_reaches_a_process_that_searched_before_it(user, monkeypatch):
    other_process = IndexCache(capacity=8)
    monkeypatch.setattr(retrieval, "cache", other_process)
    memory = services.add_memory(user, "Keeps bees in the garden").memory
    assert _texts(user, "bees") == ["Keeps bees in the garden"]

    services.update_memory(user, memory.pk, text="Keeps chickens in the yard")

    # The index itself must hold the new words: rows loaded by id would show the new text anyway.
    (old_words,) = retrieval.search(user.pk, "bees garden", limit=1, scopes=EVERYWHERE)
    (new_words,) = retrieval.search(user.pk, "chickens yard", limit=1, scopes=EVERYWHERE)
    (same_text,) = retrieval.search(
        user.pk, "Keeps chickens in the yard", limit=1, scopes=EVERYWHERE
    )
    assert old_words.lexical == 0
    assert new_words.lexical > 0
    assert same_text.similarity > 0.99
