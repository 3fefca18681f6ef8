"""Memory under chat answers: what an answer used, what its turn changed, and how changes made in
the dashboard reach the next request to the model."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chat import agent, turns
from chat import services as chat_services
from chat.models import Conversation, Message
from memories import recall, services
from memories.models import ExtractionRun, Memory, MemoryAccess
from memories.scopes import PERSON_ONLY
from tests.memories.pages import HOSTILE, HTMX
from tests.websocket import frames_until_final, send_chat


@pytest.fixture
def turn(conversation, make_turn) -> tuple[Message, Message]:
    return make_turn(conversation, "I moved to Lisbon", "Nice!")


def extraction(answer: Message, status: str = ExtractionRun.Status.DONE) -> ExtractionRun:
    return ExtractionRun.objects.create(message=answer, status=status)


def panel(client: Client, answer: Message) -> str:
    response = client.get(reverse("memories:answer_memory", args=[answer.pk]), **HTMX)
    assert response.status_code == 200
    return response.content.decode()


def notice(client: Client, answer: Message) -> str:
    response = client.get(reverse("memories:answer_changes", args=[answer.pk]), **HTMX)
    assert response.status_code == 200
    return response.content.decode()


# --- the placeholder under each message ---------------------------------------------------------


def test_finished_answers_load_their_memory_panel_and_others_do_not(
    turn, conversation, make_message
):
    question, answer = turn
    streaming = make_message(
        conversation, "", Message.Role.ASSISTANT, status=Message.Status.STREAMING
    )

    def rendered(message: Message) -> str:
        return render_to_string("chat/partials/message.html", {"message": message})

    panel_url = reverse("memories:answer_memory", args=[answer.pk])
    assert f'hx-get="{panel_url}"' in rendered(answer)
    assert 'hx-trigger="intersect once"' in rendered(answer)
    assert "/memories/answers/" not in rendered(question)
    assert "/memories/answers/" not in rendered(streaming)


def test_the_conversation_page_carries_the_panel_of_each_answer(client, turn, conversation):
    _, answer = turn

    page = client.get(reverse("chat:conversation", args=[conversation.pk])).content.decode()

    assert reverse("memories:answer_memory", args=[answer.pk]) in page


# --- memories used -------------------------------------------------------------------------------


def test_panel_lists_the_memories_the_answer_used_collapsed_with_links(client, user, turn):
    _, answer = turn
    hiking = services.add_memory(user, "Likes hiking").memory
    dutch = services.add_memory(user, "Speaks Dutch").memory
    services.add_memory(user, "Never used here")
    MemoryAccess.objects.create(memory=hiking, message=answer, score=0.9)
    MemoryAccess.objects.create(memory=dutch, message=answer, score=0.4)

    content = panel(client, answer)

    assert '<details class="answer-memory__used">' in content
    assert "2 memories used" in content
    assert f'href="{hiking.get_absolute_url()}"' in content
    assert content.index("Likes hiking") < content.index("Speaks Dutch")
    assert "Never used here" not in content


def test_an_answer_that_used_no_memory_shows_no_list(client, turn):
    _, answer = turn

    assert "memories used" not in panel(client, answer)
    assert "memory used" not in panel(client, answer)


# --- "Memory updated" ----------------------------------------------------------------------------


def test_while_extraction_runs_the_notice_polls_as_a_fallback(client, turn):
    _, answer = turn
    run = extraction(answer, ExtractionRun.Status.PENDING)

    pending = notice(client, answer)

    changes_url = reverse("memories:answer_changes", args=[answer.pk])
    assert f'hx-get="{changes_url}"' in pending
    assert 'hx-trigger="load delay:10s"' in pending
    assert 'hx-swap="outerHTML"' in pending
    assert f'hx-get="{changes_url}"' in panel(client, answer)

    run.status = ExtractionRun.Status.DONE
    run.save()

    assert "load delay:10s" not in notice(client, answer)


def test_notice_lists_added_superseded_and_forgotten_with_an_undo_each(client, user, turn):
    question, answer = turn
    berlin = services.add_memory(user, "Lives in Berlin", slot="profile:home").memory
    tea = services.add_memory(user, "Likes green tea").memory
    lisbon = services.add_memory(
        user, "Lives in Lisbon", slot="profile:home", source_message=question
    ).memory
    services.delete_memory(user, tea.pk, message=question)
    extraction(answer)

    content = notice(client, answer)

    assert "Memory updated" in content
    assert "Lives in Lisbon" in content and reverse("memories:delete", args=[lisbon.pk]) in content
    assert "<s>Lives in Berlin</s></a> →\n      Lives in Lisbon" in content
    assert reverse("memories:restore", args=[berlin.pk]) in content
    assert "Forgotten" in content and reverse("memories:undo_delete", args=[tea.pk]) in content
    assert 'hx-trigger="memory-changed from:body"' in content


def test_undo_in_the_notice_reverts_the_change_and_the_notice_follows(client, user, turn):
    question, answer = turn
    berlin = services.add_memory(user, "Lives in Berlin", slot="profile:home").memory
    lisbon = services.add_memory(
        user, "Lives in Lisbon", slot="profile:home", source_message=question
    ).memory
    extraction(answer)

    undo_add = client.post(reverse("memories:delete", args=[lisbon.pk]), **HTMX)
    undo_supersede = client.post(reverse("memories:restore", args=[berlin.pk]), **HTMX)

    assert undo_add.status_code == undo_supersede.status_code == 200
    assert "memory-changed" in undo_add["HX-Trigger"]
    content = notice(client, answer)
    assert "Removed" in content and reverse("memories:undo_delete", args=[lisbon.pk]) in content
    assert "Kept" in content
    assert [
        item.memory.text for item in recall.recall(user, "Where do I live?", scopes=PERSON_ONLY)
    ] == ["Lives in Berlin"]


def test_a_turn_that_changed_nothing_shows_no_notice(client, turn):
    _, answer = turn
    extraction(answer)

    assert notice(client, answer).strip() == ""


def test_pending_memories_appear_with_save_edit_and_discard(client, user, turn):
    question, answer = turn
    services.set_require_approval(user, True)
    jazz = services.add_memory(user, "Likes jazz", source_message=question).memory
    olives = services.add_memory(user, "Hates olives", source_message=question).memory
    extraction(answer)

    content = notice(client, answer)

    assert content.count("Waiting for approval") == 2
    approve_url = reverse("memories:approve", args=[jazz.pk])
    assert f'hx-post="{approve_url}"' in content
    assert f'<form hx-post="{approve_url}"' in content and 'name="text"' in content
    assert reverse("memories:discard", args=[olives.pk]) in content

    client.post(approve_url, {"text": "Loves jazz"}, **HTMX)
    client.post(reverse("memories:discard", args=[olives.pk]), **HTMX)

    after = notice(client, answer)
    assert "Waiting for approval" not in after
    assert "Loves jazz" in after and "Hates olives" not in after


def test_memory_text_is_escaped_in_the_chat_panel_and_notice(client, user, turn):
    question, answer = turn
    memory = services.add_memory(user, HOSTILE, source_message=question).memory
    MemoryAccess.objects.create(memory=memory, message=answer)
    extraction(answer)

    content = panel(client, answer)

    assert "<script>alert" not in content
    assert content.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 2


def test_another_users_answer_is_a_404(client_for, other_user, turn):
    _, answer = turn
    other = client_for(other_user)

    for name in ("memories:answer_memory", "memories:answer_changes"):
        assert other.get(reverse(name, args=[answer.pk]), **HTMX).status_code == 404


def test_a_user_message_is_not_an_answer(client, turn):
    question, _ = turn

    response = client.get(reverse("memories:answer_memory", args=[question.pk]), **HTMX)

    assert response.status_code == 404


def test_without_htmx_the_panel_url_leads_to_the_answer_in_its_conversation(client, turn):
    _, answer = turn

    response = client.get(reverse("memories:answer_memory", args=[answer.pk]))

    conversation_url = reverse("chat:conversation", args=[answer.conversation_id])
    assert response["Location"] == f"{conversation_url}#message-{answer.pk}"


@pytest.mark.django_db(transaction=True)
async def test_a_chat_turn_ends_with_a_panel_that_shows_what_it_remembered(
    connect, conversation, user
):
    socket = await connect(conversation.pk, user)
    await socket.connect()
    await send_chat(socket, "I prefer green tea for breakfast")
    frames = [frame async for frame in frames_until_final(socket)]
    await socket.disconnect()
    answer = await Message.objects.aget(role=Message.Role.ASSISTANT)
    panel_url = reverse("memories:answer_memory", args=[answer.pk])

    client = Client()
    await sync_to_async(client.force_login)(user)
    content = (await sync_to_async(client.get)(panel_url, **HTMX)).content.decode()

    assert f'hx-get="{panel_url}"' in frames[-1]
    assert "Memory updated" in content
    assert "Prefers green tea for breakfast" in content


# --- changes in the dashboard reach the next request to the model --------------------------------


@pytest.fixture
def ask(upstream, conversation):
    """Send a chat turn through the real turn code; return the memories the model server received.

    The turn code closes its worker thread's stale database connections, as Channels does, so
    tests using this need real commits (`transaction=True`).
    """

    async def run_turn(text: str) -> None:
        question, answer = await sync_to_async(chat_services.start_turn)(conversation, text)
        try:
            async for _ in turns.stream_answer(conversation, question, answer):
                pass
        finally:
            # This event loop (async_to_sync's) ends with the turn: so do its model clients.
            await agent.close_clients()

    def ask_model(text: str) -> str:
        async_to_sync(run_turn)(text)
        body = upstream.responses_bodies()[-1]
        return "\n".join(
            item["content"]
            for item in body["input"]
            if item.get("role") == "developer" and "<user_memories>" in item.get("content", "")
        )

    return ask_model


@pytest.mark.django_db(transaction=True)
def test_an_edit_in_the_dashboard_changes_the_next_request(client, user, ask):
    memory = services.add_memory(user, "Lives in Berlin", kind="profile").memory
    assert "Lives in Berlin" in ask("Which city do I live in?")

    client.post(
        reverse("memories:edit", args=[memory.pk]),
        {"text": "Lives in Porto", "kind": "profile"},
        **HTMX,
    )

    injected = ask("Which city do I live in?")
    assert "Lives in Porto" in injected and "Berlin" not in injected


@pytest.mark.django_db(transaction=True)
def test_a_delete_removes_it_from_the_next_request_and_undo_brings_it_back(client, user, ask):
    memory = services.add_memory(user, "Is allergic to peanuts", kind="profile").memory

    client.post(reverse("memories:delete", args=[memory.pk]), **HTMX)
    assert "peanuts" not in ask("Can I eat peanut butter?")

    client.post(reverse("memories:undo_delete", args=[memory.pk]), **HTMX)
    assert "Is allergic to peanuts" in ask("Can I eat peanut butter?")


@pytest.mark.django_db(transaction=True)
def test_restoring_a_superseded_version_puts_it_back_in_the_next_request(client, user, ask):
    berlin = services.add_memory(user, "Lives in Berlin", slot="profile:home").memory
    services.add_memory(user, "Lives in Lisbon", slot="profile:home")
    assert "Berlin" not in ask("Which city do I live in?")

    client.post(reverse("memories:restore", args=[berlin.pk]), **HTMX)

    injected = ask("Which city do I live in?")
    assert "Lives in Berlin" in injected and "Lisbon" not in injected


@pytest.mark.django_db(transaction=True)
def test_only_approved_memories_reach_the_request(client, user, ask):
    services.set_require_approval(user, True)
    pending = services.add_memory(user, "Is vegetarian", kind="profile").memory
    assert pending.status == Memory.Status.PENDING
    assert "vegetarian" not in ask("Suggest a vegetarian dinner for me")

    client.post(reverse("memories:approve", args=[pending.pk]), {"text": "Is vegan"}, **HTMX)

    assert "Is vegan" in ask("Suggest a vegan dinner for me")


def test_the_chat_page_asks_whether_a_stale_memory_is_still_true(user, client_for, settings):
    settings.MEMORY_STALE_AFTER_DAYS = {"task": 30}
    memory = services.add_memory(user, "Is renovating the <b>kitchen</b>", kind="task").memory
    Memory.objects.filter(pk=memory.pk).update(confirmed_at=timezone.now() - timedelta(days=45))
    conversation = Conversation.objects.create(owner=user)
    temporary = Conversation.objects.create(owner=user, is_temporary=True)
    client = client_for(user)

    page = client.get(conversation.get_absolute_url()).content.decode()
    assert "Is this still true?" in page
    assert "Is renovating the &lt;b&gt;kitchen&lt;/b&gt;" in page
    assert "Is this still true?" not in client.get(temporary.get_absolute_url()).content.decode()

    client.post(f"/memories/{memory.pk}/confirm/")
    assert "Is this still true?" not in client.get(conversation.get_absolute_url()).content.decode()
