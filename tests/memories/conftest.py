"""Memory page tests act as the `user` fixture, logged in."""

import pytest
from django.test import Client


@pytest.fixture
def client(client_for, user) -> Client:
    return client_for(user)
