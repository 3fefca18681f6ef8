"""Shared fixtures: users, conversations, turns, memories, a real upstream server, a websocket."""

import asyncio
import inspect
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import NamedTuple

import pytest
from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from accounts.models import User
from chat import agent, turn_threads
from chat.models import Conversation, Message, Project
from memories import services as memory_services
from memories.index import cache as memory_index_cache
from memories.models import Memory
from tests.upstream import ResponsesServer
from tests.websocket import TEARDOWN_SECONDS, end_server_tasks, report_hang

_usernames = itertools.count(1)
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.OFFLINE_MODEL_TOKEN_DELAY_SECONDS = 0
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    settings.MEM0_DIR = tmp_path / "mem0"
    settings.ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
    # The default hasher costs half a second a user on a small machine; no test needs it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _turn_threads_let_go_of_the_database(django_db_setup) -> Iterator[None]:
    # Torn down before django_db_setup, which cannot drop the test database on PostgreSQL while
    # chat.turn_threads' threads still hold connections to it.
    yield
    turn_threads.close_connections()
    # Async tests' ORM calls (Model.objects.aget, sync_to_async) run on asgiref's one thread.
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    # Each async test runs on its own event loop, and channels_redis keeps asyncio locks that
    # bind to the first loop that waits on them: a layer shared across tests fails the next
    # test with "bound to a different event loop". A Daphne process has one loop for its life.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
async def _model_clients_closed() -> AsyncIterator[None]:
    yield
    # The answers still streaming through the clients end first: this fixture is torn down
    # before the chat tests' own end_server_tasks, and closing an aiohttp session under a live
    # stream once hung CI's PostgreSQL pass (tests/chat/test_answer_lease.py).
    await end_server_tasks()
    try:
        async with asyncio.timeout(TEARDOWN_SECONDS):
            await agent.close_clients()
    except TimeoutError:
        report_hang("closing the model clients")


@pytest.fixture(autouse=True)
def _close_model_clients(request: pytest.FixtureRequest) -> None:
    # An async test's event loop closes with the test: its model clients (aiohttp sessions,
    # chat.agent.make_client) are closed first, or aiohttp logs each one as unclosed.
    if inspect.iscoroutinefunction(request.function):
        request.getfixturevalue("_model_clients_closed")


@pytest.fixture(autouse=True)
def _fresh_memory_index() -> Iterator[None]:
    # Test databases roll back, so an owner id can come back with other rows behind it.
    memory_index_cache.clear()
    yield
    memory_index_cache.clear()


@pytest.fixture
def make_user(db):
    def make(username: str | None = None) -> User:
        name = username or f"user{next(_usernames)}"
        return User.objects.create_user(username=name, password=PASSWORD)

    return make


@pytest.fixture
def user(make_user) -> User:
    return make_user("alice")


@pytest.fixture
def other_user(make_user) -> User:
    return make_user("mallory")


@pytest.fixture
def make_conversation(db):
    def make(owner: User, **fields) -> Conversation:
        return Conversation.objects.create(owner=owner, **fields)

    return make


@pytest.fixture
def make_project(db):
    def make(owner: User, name: str = "Kitchen renovation", **fields) -> Project:
        return Project.objects.create(owner=owner, name=name, **fields)

    return make


@pytest.fixture
def conversation(make_conversation, user) -> Conversation:
    return make_conversation(user)


class Turn(NamedTuple):
    """A finished turn: the user's message and the answer to it."""

    question: Message
    answer: Message


@pytest.fixture
def make_message(db):
    def make(conversation: Conversation, content: str, role: str = "user", **fields) -> Message:
        return Message.objects.create(
            conversation=conversation, role=role, content=content, **fields
        )

    return make


@pytest.fixture
def make_turn(make_message):
    def make(conversation: Conversation, question: str = "Hello", answer: str = "Hi!") -> Turn:
        return Turn(
            make_message(conversation, question, Message.Role.USER),
            make_message(conversation, answer, Message.Role.ASSISTANT),
        )

    return make


@pytest.fixture
def make_memory(db):
    """A memory stored the way every path stores one: through memories.services.add_memory."""

    def make(owner: User, text: str, **options) -> Memory:
        return memory_services.add_memory(owner, text, **options).memory

    return make


@pytest.fixture
def password() -> str:
    """The password of every user made by make_user."""
    return PASSWORD


@pytest.fixture
def client_for(db):
    def make(user: User) -> Client:
        client = Client(enforce_csrf_checks=False)
        client.force_login(user)
        return client

    return make


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[ResponsesServer]:
    with ResponsesServer() as server:
        yield server


@pytest.fixture
def upstream(upstream_server, settings) -> Iterator[ResponsesServer]:
    """A real Responses API server on 127.0.0.1, configured as the app's upstream."""
    upstream_server.reset()
    settings.OPENAI_BASE_URL = upstream_server.base_url
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_MODEL = "test-model"
    from memories.mem0_bridge import mem0_memory

    mem0_memory.cache_clear()
    yield upstream_server
    mem0_memory.cache_clear()
    upstream_server.reset()


@database_sync_to_async
def _session_cookie_for(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture
async def connect():
    """Open the chat websocket of a conversation as a user (None: anonymous)."""
    opened: list[WebsocketCommunicator] = []

    async def open_socket(
        conversation_id: int, user: User | None, origin: str = "http://testserver"
    ) -> WebsocketCommunicator:
        from config.asgi import application

        headers = [(b"origin", origin.encode()), (b"host", b"testserver")]
        if user is not None:
            cookie = await _session_cookie_for(user)
            headers.append((b"cookie", f"sessionid={cookie}".encode()))
        communicator = WebsocketCommunicator(
            application, f"/ws/chat/{conversation_id}/", headers=headers
        )
        opened.append(communicator)
        return communicator

    yield open_socket
    for communicator in opened:
        if not communicator.future.done():
            await communicator.disconnect(timeout=5)
    await end_server_tasks()
