"""Projects: their pages, name rules, what deleting removes, the sidebar, and their privacy."""

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from accounts.models import User
from chat.models import Conversation, Message, Project
from chat.turns import INSTRUCTIONS
from memories import services as memory_services
from memories.models import Memory
from tests.upstream import Text
from tests.websocket import run_turn

PROJECT_URLS = [
    ("get", "chat:project"),
    ("get", "chat:project_edit"),
    ("post", "chat:project_edit"),
    ("get", "chat:project_delete"),
    ("post", "chat:project_delete"),
    ("post", "chat:project_new_chat"),
    ("post", "chat:project_archive"),
    ("post", "chat:project_unarchive"),
    ("post", "chat:project_close"),
    ("post", "chat:project_reopen"),
]


@pytest.fixture
def theirs(make_project, make_conversation, other_user) -> Project:
    project = make_project(
        other_user, "Secret launch", instructions="Speak like a pirate.", kind="ticket"
    )
    chat = make_conversation(other_user, title="Launch plans", project=project)
    Message.objects.create(conversation=chat, role="user", content="The launch is on Friday.")
    return project


def snapshot(project: Project) -> tuple:
    project = Project.objects.get(pk=project.pk)
    return (
        project.name,
        project.instructions,
        project.kind,
        project.is_closed,
        project.is_archived,
        list(project.conversations.values_list("pk", flat=True)),
    )


# --- creating and editing ------------------------------------------------------------------


def test_a_new_project_belongs_to_its_creator_and_opens(client_for, user):
    response = client_for(user).post(
        reverse("chat:project_new"),
        {"name": "  Kitchen   renovation ", "instructions": "Budget: 20k EUR.", "kind": "ticket"},
    )

    project = Project.objects.get()
    assert (project.owner, project.name, project.kind) == (user, "Kitchen renovation", "ticket")
    assert (project.instructions, project.memory_mode) == ("Budget: 20k EUR.", "shared")
    assert response.status_code == 302 and response.url == project.get_absolute_url()


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "Give the project a name."),
        ("   ", "Give the project a name."),
        ("x" * 101, "at most 100 characters long (this one has 101)"),
        ("KITCHEN  renovation", "You already have a project called “KITCHEN renovation”."),
    ],
)
def test_a_bad_project_name_gets_a_clear_error_and_creates_nothing(
    client_for, user, make_project, name, error
):
    make_project(user, "Kitchen renovation")

    response = client_for(user).post(reverse("chat:project_new"), {"name": name, "kind": "project"})

    assert response.status_code == 400
    assert error in response.content.decode()
    assert Project.objects.count() == 1


def test_another_account_may_use_the_same_project_name(client_for, user, make_project, other_user):
    make_project(other_user, "Kitchen renovation")

    response = client_for(user).post(
        reverse("chat:project_new"), {"name": "kitchen renovation", "kind": "project"}
    )

    assert response.status_code == 302
    assert Project.objects.filter(owner=user, name="kitchen renovation").exists()


def test_renaming_keeps_a_project_from_taking_another_ones_name(client_for, user, make_project):
    make_project(user, "Garden")
    kitchen = make_project(user, "Kitchen")
    url = reverse("chat:project_edit", args=[kitchen.pk])

    taken = client_for(user).post(url, {"name": "garden", "kind": "project"})
    recased = client_for(user).post(
        url, {"name": "KITCHEN", "instructions": "Oak only.", "kind": "project"}
    )

    assert taken.status_code == 400
    assert "You already have a project called “garden”." in taken.content.decode()
    assert recased.status_code == 302
    kitchen.refresh_from_db()
    assert (kitchen.name, kitchen.instructions) == ("KITCHEN", "Oak only.")


def test_tickets_close_and_reopen_and_projects_archive(client_for, user, make_project):
    ticket = make_project(user, "Printer jam", kind="ticket")
    client = client_for(user)

    client.post(reverse("chat:project_close", args=[ticket.pk]))
    closed = Project.objects.get(pk=ticket.pk).is_closed
    client.post(reverse("chat:project_reopen", args=[ticket.pk]))
    reopened = not Project.objects.get(pk=ticket.pk).is_closed
    client.post(reverse("chat:project_archive", args=[ticket.pk]))
    archived = Project.objects.get(pk=ticket.pk).is_archived
    client.post(reverse("chat:project_unarchive", args=[ticket.pk]))

    assert (closed, reopened, archived) == (True, True, True)
    assert not Project.objects.get(pk=ticket.pk).is_archived


def test_a_plain_project_cannot_be_closed(client_for, user, make_project):
    project = make_project(user)

    response = client_for(user).post(reverse("chat:project_close", args=[project.pk]), follow=True)

    assert "Only tickets are closed and reopened" in response.content.decode()
    assert not Project.objects.get(pk=project.pk).is_closed


# --- chats in projects ---------------------------------------------------------------------


def test_a_new_chat_in_a_project_belongs_to_it(client_for, user, make_project):
    project = make_project(user)

    response = client_for(user).post(reverse("chat:project_new_chat", args=[project.pk]))

    chat = Conversation.objects.get()
    assert (chat.owner, chat.project) == (user, project)
    assert response.url == chat.get_absolute_url()


def test_an_archived_project_starts_no_chat(client_for, user, make_project):
    project = make_project(user, is_archived=True)

    response = client_for(user).post(
        reverse("chat:project_new_chat", args=[project.pk]), follow=True
    )

    assert "unarchive it to start a chat" in response.content.decode()
    assert not Conversation.objects.exists()


def test_a_chat_moves_into_a_project_and_out_again(client_for, user, make_project, conversation):
    project = make_project(user)
    client = client_for(user)
    url = reverse("chat:move", args=[conversation.pk])

    client.post(url, {"project": project.pk})
    moved_in = Conversation.objects.get(pk=conversation.pk).project
    client.post(url, {"project": ""})

    assert moved_in == project
    assert Conversation.objects.get(pk=conversation.pk).project is None


def test_the_sidebar_groups_chats_by_project(client_for, user, make_project, make_conversation):
    project = make_project(user, "Kitchen renovation")
    make_conversation(user, title="Choosing tiles", project=project)
    loose = make_conversation(user, title="Weekend plans")

    page = client_for(user).get(loose.get_absolute_url()).content.decode()

    group = page.split(f'data-project="{project.pk}"', 1)[1].split("</section>", 1)[0]
    assert "Kitchen renovation" in group and "Choosing tiles" in group
    assert "Weekend plans" not in group
    assert "Weekend plans" in page.split('id="conversation-list"', 1)[1]


def test_the_project_page_lists_its_chats_and_a_place_for_its_memories(
    client_for, user, make_project, make_conversation
):
    project = make_project(user, instructions="Budget: 20k EUR.")
    make_conversation(user, title="Choosing tiles", project=project)
    make_conversation(user, title="Weekend plans")

    page = client_for(user).get(project.get_absolute_url()).content.decode()

    chats = page.split('id="project-chats-heading"', 1)[1].split("</section>", 1)[0]
    assert "Choosing tiles" in chats and "Weekend plans" not in chats
    assert "Budget: 20k EUR." in page
    assert 'id="project-memories"' in page


# --- deleting ------------------------------------------------------------------------------


def test_the_delete_page_says_which_chats_go_with_the_project(
    client_for, user, make_project, make_conversation
):
    project = make_project(user)
    make_conversation(user, title="Choosing tiles", project=project)
    make_conversation(user, title="Weekend plans")

    page = client_for(user).get(reverse("chat:project_delete", args=[project.pk]))

    content = page.content.decode()
    assert "deletes the project and its 1 chat," in content
    assert "<li>Choosing tiles</li>" in content and "Weekend plans" not in content
    assert Project.objects.filter(pk=project.pk).exists()


def test_deleting_a_project_deletes_its_chats_and_nothing_else(
    client_for, user, make_project, make_conversation, theirs
):
    project = make_project(user, "Secret launch")
    in_project = make_conversation(user, title="Choosing tiles", project=project)
    Message.objects.create(conversation=in_project, role="user", content="Blue tiles.")
    loose = make_conversation(user, title="Weekend plans")
    memory = memory_services.add_memory(user, "Prefers blue tiles").memory
    Memory.objects.filter(pk=memory.pk).update(source_conversation=in_project)
    theirs_before = snapshot(theirs)

    response = client_for(user).post(reverse("chat:project_delete", args=[project.pk]))

    assert response.url == reverse("chat:home")
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not Conversation.objects.filter(pk=in_project.pk).exists()
    assert not Message.objects.filter(conversation_id=in_project.pk).exists()
    assert Conversation.objects.filter(pk=loose.pk).exists()
    assert Memory.objects.filter(pk=memory.pk, status="active").exists()
    assert snapshot(theirs) == theirs_before
    assert Message.objects.filter(conversation__project=theirs).count() == 1


# --- privacy -------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "name"), PROJECT_URLS)
def test_another_accounts_project_is_not_found_on_every_url(client_for, user, theirs, method, name):
    before = snapshot(theirs)

    response = getattr(client_for(user), method)(
        reverse(name, args=[theirs.pk]), {"name": "Mine now", "kind": "project"}
    )

    assert response.status_code == 404
    assert "Secret launch" not in response.content.decode()
    assert snapshot(theirs) == before
    assert not Conversation.objects.filter(owner=user).exists()


@pytest.mark.parametrize(("method", "name"), [*PROJECT_URLS, ("get", "chat:project_new")])
def test_project_pages_send_anonymous_visitors_to_login(client, theirs, method, name):
    url = reverse(name, args=[] if name == "chat:project_new" else [theirs.pk])
    before = snapshot(theirs)

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"
    assert snapshot(theirs) == before


def test_a_chat_cannot_move_into_another_accounts_project(client_for, user, theirs, conversation):
    before = snapshot(theirs)

    response = client_for(user).post(
        reverse("chat:move", args=[conversation.pk]), {"project": theirs.pk}
    )

    assert response.status_code == 404
    assert Conversation.objects.get(pk=conversation.pk).project is None
    assert snapshot(theirs) == before


def test_another_accounts_chat_cannot_be_moved(client_for, user, make_project, theirs):
    mine = make_project(user)
    their_chat = theirs.conversations.get()

    response = client_for(user).post(reverse("chat:move", args=[their_chat.pk]), {"project": ""})
    into_mine = client_for(user).post(
        reverse("chat:move", args=[their_chat.pk]), {"project": mine.pk}
    )

    assert (response.status_code, into_mine.status_code) == (404, 404)
    assert Conversation.objects.get(pk=their_chat.pk).project == theirs


def test_nobody_sees_another_accounts_projects_in_their_pages(
    client_for, user, make_project, conversation, theirs
):
    mine = make_project(user)

    for url in (conversation.get_absolute_url(), mine.get_absolute_url()):
        page = client_for(user).get(url).content.decode()
        assert "Secret launch" not in page and "Launch plans" not in page


# --- the model -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_projects_instructions_reach_the_model_in_its_chats_only(
    upstream, user, other_user, make_project, make_conversation
):
    project = await sync_to_async(make_project)(user, instructions="Answer in metric units.")
    await sync_to_async(make_project)(other_user, instructions="Speak like a pirate.")
    in_project = await sync_to_async(make_conversation)(user, project=project)
    loose = await sync_to_async(make_conversation)(user)
    upstream.script(Text("Ok."), Text("Ok."))

    await run_turn(in_project, "How tall is the door?")
    await run_turn(loose, "How tall is the door?")

    project_turn, loose_turn = upstream.responses_bodies()
    assert project_turn["instructions"].startswith(INSTRUCTIONS)
    assert "Answer in metric units." in project_turn["instructions"]
    assert "Kitchen renovation" in project_turn["instructions"]
    assert loose_turn["instructions"] == INSTRUCTIONS
    assert all("pirate" not in body["instructions"] for body in upstream.responses_bodies())


@pytest.mark.django_db(transaction=True)
async def test_a_chat_moved_out_of_its_project_loses_the_instructions_at_once(
    upstream, user, make_project, make_conversation
):
    project = await sync_to_async(make_project)(user, instructions="Answer in metric units.")
    chat = await sync_to_async(make_conversation)(user, project=project)
    upstream.script(Text("Ok."))
    # The chat object is the one the socket loaded when it opened; the move happens since.
    await Conversation.objects.filter(pk=chat.pk).aupdate(project=None)

    await run_turn(chat, "How tall is the door?")

    assert upstream.responses_bodies()[-1]["instructions"] == INSTRUCTIONS


def test_the_admin_lists_projects_with_their_owner_and_state(client, theirs):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))

    page = client.get(reverse("admin:chat_project_changelist")).content.decode()

    assert "Secret launch" in page and "mallory" in page and "Ticket" in page
