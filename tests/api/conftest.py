"""Tokens of every kind, and a client that sends one."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from memories import tokens
from memories.models import AccessToken


@pytest.fixture
def make_token(db):
    """A token's secret: `make_token(owner, scope="project", project=p, can_write=True)`."""

    def make(owner, name: str = "laptop agent", **options) -> str:
        return tokens.create_token(owner, name, **options).secret

    return make


@pytest.fixture
def writer(make_token, user) -> str:
    return make_token(user, can_write=True)


class Api:
    """The Django test client, speaking JSON with one token (or none)."""

    def __init__(self, secret: str | None) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def request(self, method: str, path: str, body=None, *, raw: str | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        call = getattr(self.client, method.lower())
        kwargs = {"content_type": "application/json"} if data is not None else {}
        if data is not None:
            return call(f"/api/v1{path}", data, headers=self.headers, **kwargs)
        return call(f"/api/v1{path}", headers=self.headers)

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, body=None, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def patch(self, path: str, body=None):
        return self.request("PATCH", path, body)

    def delete(self, path: str):
        return self.request("DELETE", path)


@pytest.fixture
def api_as():
    return Api


def expire(secret: str) -> None:
    AccessToken.objects.filter(secret_hash=tokens.hash_secret(secret)).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.fixture
def client(client_for, user) -> Client:
    return client_for(user)
