"""Search runs over one owner's index: another account's rows are never loaded into it."""

from memories import retrieval, selectors, services
from memories.models import Memory
from memories.scopes import EVERYWHERE


def test_an_owners_index_holds_only_their_rows(user, other_user, make_memory):
    make_memory(other_user, "Takes the 7:40 train to Leeds")
    make_memory(other_user, "Commutes by train every morning")
    mine = make_memory(user, "Takes the 8:15 train to York")
    retrieval.search(
        user.pk, "train", limit=10, scopes=EVERYWHERE
    )  # the index is built and cached now
    make_memory(other_user, "Train tickets are in the drawer")  # and brought up to date later

    hits = retrieval.search(user.pk, "train", limit=10, scopes=EVERYWHERE)

    assert [hit.memory_id for hit in hits] == [mine.pk]
    assert [row.id for row in retrieval.cache.fresh_index(user.pk).rows] == [mine.pk]


def test_search_and_forget_never_reach_another_owners_memories(user, other_user, make_memory):
    theirs = make_memory(other_user, "Takes the 7:40 train")
    mine = make_memory(user, "Takes the 7:40 train")

    found = selectors.search_memories(user, "the 7:40 train", scopes=EVERYWHERE)
    forgotten = services.forget_matching(user, "the 7:40 train", scopes=EVERYWHERE)

    assert [item.memory.pk for item in found] == [mine.pk]
    assert [memory.pk for memory in forgotten] == [mine.pk]
    theirs.refresh_from_db()
    assert theirs.status == Memory.Status.ACTIVE
