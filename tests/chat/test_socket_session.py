"""Issue 8 item 2: a chat socket lives no longer than the session that opened it."""

from collections.abc import AsyncIterator

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from chat.models import Message
from tests.conftest import PASSWORD
from tests.websocket import frames_until_final, send_chat

pytestmark = pytest.mark.django_db(transaction=True)

SIGNED_OUT = {"type": "websocket.close", "code": 4401}


@pytest.fixture
async def signed_in_socket(
    conversation, user
) -> AsyncIterator[tuple[WebsocketCommunicator, Client]]:
    """An open chat socket and the browser session (a test client) it was opened with."""
    from config.asgi import application

    browser = Client()
    await sync_to_async(browser.force_login)(user)
    cookie = browser.cookies["sessionid"].value
    socket = WebsocketCommunicator(
        application,
        f"/ws/chat/{conversation.pk}/",
        headers=[
            (b"origin", b"http://testserver"),
            (b"host", b"testserver"),
            (b"cookie", f"sessionid={cookie}".encode()),
        ],
    )
    connected, _ = await socket.connect(timeout=10)
    assert connected
    yield socket, browser
    await socket.disconnect(timeout=5)


async def assert_closed_as_signed_out(socket: WebsocketCommunicator, upstream, conversation):
    await send_chat(socket, "Anyone there?")

    assert await socket.receive_output(timeout=10) == SIGNED_OUT
    assert await Message.objects.filter(conversation=conversation).acount() == 0
    assert upstream.responses_bodies() == []


async def test_item2_socket_answers_while_the_session_is_valid(
    signed_in_socket, upstream, conversation
):
    socket, _ = signed_in_socket

    await send_chat(socket, "Hello")
    *_, final = [frame async for frame in frames_until_final(socket)]

    assert "You said: Hello" in final


async def test_item2_socket_is_closed_as_signed_out_after_logout(
    signed_in_socket, upstream, conversation
):
    socket, browser = signed_in_socket

    response = await sync_to_async(browser.post)(reverse("logout"))

    assert response.status_code == 302
    await assert_closed_as_signed_out(socket, upstream, conversation)


async def test_item2_socket_is_closed_after_a_password_change_elsewhere(
    signed_in_socket, upstream, conversation, user
):
    socket, _ = signed_in_socket
    elsewhere = Client()
    await sync_to_async(elsewhere.force_login)(user)

    response = await sync_to_async(elsewhere.post)(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "an entirely new passphrase 42",
            "new_password2": "an entirely new passphrase 42",
        },
    )

    assert response.status_code == 302
    await assert_closed_as_signed_out(socket, upstream, conversation)


async def test_item2_socket_is_closed_after_the_account_is_deactivated(
    signed_in_socket, upstream, conversation, user
):
    socket, _ = signed_in_socket
    user.is_active = False

    await user.asave(update_fields=["is_active"])

    await assert_closed_as_signed_out(socket, upstream, conversation)
