"""What the REST API does with memories: the same services as the chat, labelled with the token."""

from datetime import timedelta

from django.utils import timezone

from memories.models import ApiCall, Memory, MemoryEvent


def test_an_added_memory_is_searchable_and_labelled_with_the_token(
    api_as, writer, user, client_for
):
    api = api_as(writer)

    added = api.post(
        "/memories",
        {
            "text": "Allergic to peanuts",
            "kind": "profile",
            "tags": ["Health"],
            "metadata": {"source": "cli"},
        },
    )
    found = api.post("/memories/search", {"query": "peanut allergy"}).json()["results"]
    dashboard = client_for(user).get("/memories/")

    assert added.status_code == 201
    memory = added.json()["memory"]
    assert (
        memory["kind"] == "profile" and memory["tags"] == ["health"] and memory["scope"] == "person"
    )
    assert memory["metadata"] == {"source": "cli", "via_token": "laptop agent"}
    assert [hit["memory"]["id"] for hit in found] == [memory["id"]]
    assert "via token “laptop agent”" in dashboard.content.decode()


def test_adding_a_known_fact_confirms_it_instead_of_duplicating(api_as, writer, make_memory, user):
    known = make_memory(user, "Lives in Lyon")

    again = api_as(writer).post("/memories", {"text": "lives in lyon."})

    assert again.status_code == 201
    assert again.json()["created"] is False
    assert again.json()["memory"]["id"] == str(known.pk)
    assert Memory.objects.count() == 1


def test_update_keeps_history_and_delete_hides(api_as, writer, make_memory, user):
    memory = make_memory(user, "Drinks tea")
    api = api_as(writer)

    updated = api.patch(f"/memories/{memory.pk}", {"text": "Drinks coffee", "tags": ["mornings"]})
    history = api.get(f"/memories/{memory.pk}/history").json()
    deleted = api.delete(f"/memories/{memory.pk}")

    assert updated.json()["text"] == "Drinks coffee" and updated.json()["tags"] == ["mornings"]
    assert [e["action"] for e in history["items"]] == ["edited", "added"]
    assert history["items"][0]["old_text"] == "Drinks tea"
    assert deleted.status_code == 204
    assert api.get(f"/memories/{memory.pk}").status_code == 404
    assert api.get("/memories").json()["count"] == 0
    assert MemoryEvent.objects.filter(memory=memory, action="deleted").exists()


def test_patch_sets_and_removes_the_expiry_only_when_sent(api_as, writer, make_memory, user):
    later = timezone.now() + timedelta(days=3)
    memory = make_memory(user, "Is in Berlin this week", expires_at=later)
    api = api_as(writer)

    api.patch(f"/memories/{memory.pk}", {"kind": "task"})
    memory.refresh_from_db()
    assert memory.expires_at == later and memory.kind == "task"

    api.patch(f"/memories/{memory.pk}", {"expires_at": None})
    memory.refresh_from_db()
    assert memory.expires_at is None


def test_list_pages_through_every_memory_once(api_as, writer, make_memory, user):
    for text in ("Grows orchids", "Speaks Welsh", "Owns a kayak", "Hates olives", "Reads Proust"):
        make_memory(user, text)
    api = api_as(writer)

    first = api.get("/memories?limit=2").json()
    second = api.get(f"/memories?limit=2&offset={first['next_offset']}").json()
    last = api.get("/memories?limit=2&offset=4").json()

    ids = [m["id"] for page in (first, second, last) for m in page["items"]]
    assert first["count"] == 5 and len(set(ids)) == 5
    assert last["next_offset"] is None


def test_search_filters_by_kind_tag_and_metadata(api_as, writer, user, make_memory):
    make_memory(user, "Runs every morning", kind="preference", tags=["sport"])
    make_memory(user, "Runs the Paris marathon in April", kind="task", metadata={"year": 2027})
    api = api_as(writer)

    def texts(**filters):
        results = api.post("/memories/search", {"query": "runs", **filters}).json()["results"]
        return [hit["memory"]["text"] for hit in results]

    assert texts(kinds=["task"]) == ["Runs the Paris marathon in April"]
    assert texts(tag="sport") == ["Runs every morning"]
    assert texts(metadata={"year": 2027}) == ["Runs the Paris marathon in April"]
    assert len(texts(limit=1)) == 1


def test_the_recall_preview_shows_what_a_chat_would_inject(api_as, writer, user, make_memory):
    make_memory(user, "Is vegetarian", kind="preference")

    preview = (
        api_as(writer)
        .post("/recall-preview", {"message": "Suggest a vegetarian dinner recipe"})
        .json()
    )

    assert [hit["memory"]["text"] for hit in preview["memories"]] == ["Is vegetarian"]
    assert "Is vegetarian" in preview["context"]


def test_every_read_and_write_is_logged_with_its_memories(api_as, writer, user, make_memory):
    memory = make_memory(user, "Keeps bees")
    api = api_as(writer)

    api.get(f"/memories/{memory.pk}")
    api.post("/memories/search", {"query": "bees"})
    api.patch(f"/memories/{memory.pk}", {"text": "Keeps bees and hens"})

    calls = list(ApiCall.objects.order_by("id"))
    assert [(c.endpoint, c.wrote) for c in calls] == [
        (f"GET /api/v1/memories/{memory.pk}", False),
        ("POST /api/v1/memories/search", False),
        (f"PATCH /api/v1/memories/{memory.pk}", True),
    ]
    assert all(list(c.memories.all()) == [memory] for c in calls)
    assert {c.token.name for c in calls} == {"laptop agent"}
