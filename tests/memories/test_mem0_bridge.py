"""mem0 over our database: its vector store is the Memory table, always scoped to an owner."""

import pytest

from memories import embeddings, extraction, selectors, services
from memories.mem0_bridge import DjangoVectorStore, mem0_memory
from memories.models import Memory


def test_mem0_stores_extracted_facts_as_our_memories(upstream, user):
    upstream.script_chat('{"memory": [{"text": "Works as a nurse"}, {"text": "Has two cats"}]}')

    mem0_memory().add(
        "I work as a nurse and I have two cats.", user_id=str(user.memory_key), infer=True
    )

    texts = set(selectors.memories_of(user).values_list("text", flat=True))
    assert texts == {"Works as a nurse", "Has two cats"}
    request = upstream.chat_bodies()[0]
    assert request["response_format"] == {"type": "json_object"}


def test_mem0_search_only_sees_the_owners_memories(upstream, user, other_user):
    services.add_memory(user, "Works as a nurse")
    services.add_memory(other_user, "Works as a pilot")

    found = mem0_memory().search("What is my job?", filters={"user_id": str(other_user.memory_key)})

    assert [item["memory"] for item in found["results"]] == ["Works as a pilot"]


@pytest.mark.parametrize("method", ["get", "delete"])
def test_the_store_refuses_bare_ids_without_an_owner(user, method):
    memory = services.add_memory(user, "Works as a nurse").memory

    with pytest.raises(PermissionError):
        getattr(DjangoVectorStore(), method)(str(memory.pk))

    assert Memory.objects.filter(pk=memory.pk, status="active").exists()


def test_the_store_refuses_to_search_without_an_owner():
    with pytest.raises(PermissionError):
        DjangoVectorStore().search("job", [0.0] * 384, filters={})


def test_an_llm_judged_contradiction_supersedes_the_old_fact(
    upstream, user, conversation, make_turn
):
    old = services.add_memory(user, "Lives in Berlin").memory
    upstream.script_chat(
        '{"memory": [{"text": "Lives in Lisbon"}]}',
        '{"outdated": [1]}',
    )
    source, answer = make_turn(conversation, "I moved to Lisbon.", "Nice!")

    extraction.extract_from_turn(answer)

    old.refresh_from_db()
    new = Memory.objects.get(text="Lives in Lisbon")
    assert old.status == Memory.Status.SUPERSEDED and old.superseded_by == new
    assert new.source_message == source
    judge_request = upstream.chat_bodies()[-1]
    assert "1. Lives in Berlin" in judge_request["messages"][1]["content"]


def test_unrelated_facts_are_not_sent_to_the_judge(upstream, user, conversation, make_turn):
    services.add_memory(user, "Has a peanut allergy")
    upstream.script_chat('{"memory": [{"text": "Plays the cello"}]}')
    _, answer = make_turn(conversation, "I play the cello.", "Lovely.")

    extraction.extract_from_turn(answer)

    assert len(upstream.chat_bodies()) == 1
    assert Memory.objects.filter(status="active").count() == 2


def test_a_fact_is_never_linked_to_another_accounts_message(
    user, other_user, make_conversation, make_message
):
    theirs = make_message(make_conversation(other_user), "I work as a nurse.")
    store = DjangoVectorStore()

    store.insert(
        [embeddings.embed_text("Works as a nurse")],
        payloads=[
            {
                "data": "Works as a nurse",
                "user_id": str(user.memory_key),
                "source_message_id": theirs.pk,
            }
        ],
    )

    memory = Memory.objects.get(owner=user)
    assert memory.source_message is None and memory.source_conversation is None
