"""A memory's page and history: where it came from, what changed it, which answers used it."""

from django.urls import reverse

from memories import services
from memories.models import MemoryAccess
from tests.memories.pages import HOSTILE, HTMX


def test_detail_shows_source_history_and_the_answers_that_used_it(
    client, user, conversation, make_turn
):
    source, answer = make_turn(conversation, "I live in Berlin", "Hallo!")
    memory = services.add_memory(user, "Lives in Berlin", source_message=source).memory
    services.update_memory(user, memory.pk, text="Lives in Berlin, Kreuzberg")
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


def test_memory_text_is_escaped_on_the_detail_page(client, user, conversation, make_message):
    source = make_message(conversation, HOSTILE)
    memory = services.add_memory(user, HOSTILE, source_message=source).memory
    services.update_memory(user, memory.pk, text=HOSTILE + " again")

    content = client.get(reverse("memories:detail", args=[memory.pk])).content.decode()

    assert "<script>alert" not in content
    assert "&lt;script&gt;" in content
