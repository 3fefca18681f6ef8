"""Memory text is plain text everywhere it shows: every XSS payload stays inert, pages and admin."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from chat.models import Message
from memories import services
from memories.models import ExtractionRun, Memory, MemoryAccess
from tests.html_safety import XSS_PAYLOADS, executable_parts
from tests.memories.pages import HTMX


@pytest.fixture
def staff_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def hostile_memory(owner: User, conversation, payload: str) -> tuple[Memory, Message]:
    """A memory learned from a hostile message, used by an answer, then edited: every place
    its text shows (list, detail, history diff, the answer's panel and notice) holds a payload."""
    question = Message.objects.create(
        conversation=conversation, role=Message.Role.USER, content=payload
    )
    answer = Message.objects.create(
        conversation=conversation, role=Message.Role.ASSISTANT, content=payload
    )
    memory = services.add_memory(owner, payload, tags=["x"], source_message=question).memory
    services.update_memory(owner, memory.pk, text=f"{payload} (edited)")
    MemoryAccess.objects.create(memory=memory, message=answer)
    ExtractionRun.objects.create(message=answer, status=ExtractionRun.Status.DONE)
    return memory, answer


def html_of(client: Client, url: str, **headers: str) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payloads_are_inert_on_every_memory_page(client, user, conversation, payload):
    memory, answer = hostile_memory(user, conversation, payload)
    pages = {
        "dashboard": html_of(client, reverse("memories:list")),
        "search results": html_of(client, reverse("memories:list"), **HTMX),
        "detail": html_of(client, reverse("memories:detail", args=[memory.pk])),
        "history": html_of(client, reverse("memories:history", args=[memory.pk])),
        "edit": html_of(client, reverse("memories:edit", args=[memory.pk])),
        "answer panel": html_of(
            client, reverse("memories:answer_memory", args=[answer.pk]), **HTMX
        ),
        "answer notice": html_of(
            client, reverse("memories:answer_changes", args=[answer.pk]), **HTMX
        ),
        "conversation": html_of(client, reverse("chat:conversation", args=[conversation.pk])),
    }

    for name, html in pages.items():
        assert executable_parts(html) == [], name
    assert all("(edited)" in html for name, html in pages.items() if name != "conversation")


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payloads_are_inert_in_the_memory_admin(staff_client, user, conversation, payload):
    memory, _ = hostile_memory(user, conversation, payload)

    for url in (
        reverse("admin:memories_memory_changelist"),
        reverse("admin:memories_memory_change", args=[memory.pk]),
        reverse("admin:memories_memoryaccess_changelist"),
    ):
        assert executable_parts(html_of(staff_client, url)) == [], url
