"""Memory page tests act as the `user` fixture, logged in, who has one memory."""

import pytest
from django.test import Client

from memories.models import Memory


@pytest.fixture
def client(client_for, user) -> Client:
    return client_for(user)


@pytest.fixture
def memory(user, make_memory) -> Memory:
    return make_memory(user, "Likes hiking in the Alps", kind="preference")


# Real worker processes, for the tests of background jobs.
from tests.memories.workers import shared_database, start_worker  # noqa: E402, F401
