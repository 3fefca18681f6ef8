"""The preview: exactly what a message would inject into the model's context, and nothing else."""

from django.urls import reverse

from memories import recall, services
from memories.scopes import PERSON_ONLY
from tests.memories.pages import HOSTILE, HTMX


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
        recall.recall(user, "Any good hikes near Innsbruck?", scopes=PERSON_ONLY)
    )


def test_preview_for_small_talk_injects_nothing(client, memory):
    response = client.post(reverse("memories:preview"), {"message": "thanks!"}, **HTMX)

    assert "No memory would be injected" in response.content.decode()


def test_preview_never_shows_another_users_memories(client, other_user):
    services.add_memory(other_user, "Mallory likes hiking in the Alps")

    response = client.post(reverse("memories:preview"), {"message": "hiking in the Alps"}, **HTMX)

    assert "Mallory" not in response.content.decode()


def test_memory_text_is_escaped_in_the_preview(client, user):
    services.add_memory(user, "Likes hiking " + HOSTILE)

    content = client.post(
        reverse("memories:preview"), {"message": "Do I like hiking?"}, **HTMX
    ).content.decode()

    assert "<script>alert" not in content
    # Once in the list; once in the block, where the model already gets it as entities.
    assert content.count("&lt;script&gt;") == 1
    assert content.count("&amp;lt;script&amp;gt;") == 1
