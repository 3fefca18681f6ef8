"""The chat pages: login required, a user's own conversations only, and nobody else's."""

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from chat.models import Conversation, Message
from tests.websocket import send_chat


@pytest.fixture
def theirs(make_conversation, make_message, other_user) -> Conversation:
    conversation = make_conversation(other_user, title="Mallory's secret plans")
    make_message(conversation, "The plan is ready.")
    return conversation


@pytest.mark.parametrize(
    ("method", "name", "needs_pk"),
    [
        ("get", "chat:home", False),
        ("get", "chat:conversation", True),
        ("post", "chat:new", False),
        ("post", "chat:rename", True),
        ("post", "chat:delete", True),
    ],
)
def test_chat_pages_send_anonymous_visitors_to_login(client, conversation, method, name, needs_pk):
    url = reverse(name, args=[conversation.pk] if needs_pk else [])

    response = getattr(client, method)(url, {"title": "Taken over"} if method == "post" else {})

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"
    assert Conversation.objects.get(pk=conversation.pk).title == conversation.title
    assert Conversation.objects.count() == 1


def test_home_without_conversations_shows_the_start_page(client_for, user):
    response = client_for(user).get(reverse("chat:home"))

    assert response.status_code == 200
    assert response.templates[0].name == "chat/home.html"


def test_home_opens_the_latest_of_the_users_own_conversations(
    client_for, user, make_conversation, theirs
):
    make_conversation(user, title="Older")
    latest = make_conversation(user, title="Latest")

    response = client_for(user).get(reverse("chat:home"))

    assert response.status_code == 302
    assert response.url == latest.get_absolute_url()


def test_new_conversation_belongs_to_the_user_and_opens(client_for, user):
    response = client_for(user).post(reverse("chat:new"))

    created = Conversation.objects.get()
    assert (created.owner, created.is_temporary) == (user, False)
    assert response.status_code == 302
    assert response.url == created.get_absolute_url()


def test_new_temporary_conversation_is_marked_temporary(client_for, user):
    client_for(user).post(reverse("chat:new"), {"temporary": "1"})

    assert Conversation.objects.get(owner=user).is_temporary


def test_new_conversation_needs_post(client_for, user):
    response = client_for(user).get(reverse("chat:new"))

    assert response.status_code == 405
    assert not Conversation.objects.exists()


def test_conversation_page_shows_its_messages_and_only_the_users_conversations(
    client_for, user, conversation, theirs, make_message
):
    make_message(conversation, "<b>Hello</b> there")

    response = client_for(user).get(conversation.get_absolute_url())

    assert response.status_code == 200
    page = response.content.decode()
    assert "&lt;b&gt;Hello&lt;/b&gt; there" in page
    assert "<b>Hello</b>" not in page
    assert "Mallory&#x27;s secret plans" not in page
    assert "The plan is ready." not in page


def test_rename_changes_the_title(client_for, user, conversation):
    response = client_for(user).post(
        reverse("chat:rename", args=[conversation.pk]), {"title": "  Trip \n planning "}
    )

    assert response.status_code == 302
    assert Conversation.objects.get(pk=conversation.pk).title == "Trip planning"


def test_rename_from_htmx_returns_the_updated_sidebar_item(client_for, user, conversation):
    response = client_for(user).post(
        reverse("chat:rename", args=[conversation.pk]),
        {"title": "Trip planning"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert f'id="conversation-{conversation.pk}"' in response.content.decode()
    assert "Trip planning" in response.content.decode()


def test_rename_to_an_empty_title_is_rejected_with_a_clear_message(
    client_for, user, make_conversation
):
    conversation = make_conversation(user, title="Keep me")

    response = client_for(user).post(
        reverse("chat:rename", args=[conversation.pk]), {"title": "   "}
    )

    assert response.status_code == 400
    assert "A title cannot be empty." in response.content.decode()
    assert Conversation.objects.get(pk=conversation.pk).title == "Keep me"


def test_rename_to_an_empty_title_from_htmx_puts_the_message_in_the_items_error_slot(
    client_for, user, conversation
):
    response = client_for(user).post(
        reverse("chat:rename", args=[conversation.pk]),
        {"title": ""},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 400
    assert "A title cannot be empty." in response.content.decode()
    assert response.headers["HX-Retarget"] == f"#conversation-{conversation.pk}-error"


def test_delete_removes_the_conversation_and_its_messages(
    client_for, user, conversation, make_message
):
    make_message(conversation, "Forget this.")

    response = client_for(user).post(reverse("chat:delete", args=[conversation.pk]))

    assert response.status_code == 302
    assert response.url == reverse("chat:home")
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()


def test_another_users_conversation_is_not_found(client_for, user, theirs):
    response = client_for(user).get(theirs.get_absolute_url())

    assert response.status_code == 404
    assert "The plan is ready." not in response.content.decode()


def test_another_users_conversation_cannot_be_renamed(client_for, user, theirs):
    response = client_for(user).post(reverse("chat:rename", args=[theirs.pk]), {"title": "Mine"})

    assert response.status_code == 404
    assert Conversation.objects.get(pk=theirs.pk).title == "Mallory's secret plans"


def test_another_users_conversation_cannot_be_deleted(client_for, user, theirs):
    response = client_for(user).post(reverse("chat:delete", args=[theirs.pk]))

    assert response.status_code == 404
    assert Conversation.objects.filter(pk=theirs.pk, owner=theirs.owner).exists()
    assert Message.objects.filter(conversation=theirs).count() == 1


@pytest.mark.django_db(transaction=True)
async def test_streaming_into_another_users_conversation_is_closed_and_saves_nothing(
    connect, upstream, user, other_user, make_conversation
):
    conversation = await sync_to_async(make_conversation)(other_user)
    socket = await connect(conversation.pk, user)
    await socket.connect()

    closed = await socket.receive_output()
    await send_chat(socket, "Let me in")

    assert closed == {"type": "websocket.close", "code": 4404}
    assert await socket.receive_nothing(timeout=0.2)
    assert not await Message.objects.filter(conversation=conversation).aexists()
    assert upstream.responses_bodies() == []
    await socket.disconnect()
