"""Every URL of the site, walked from the URL map: who may open it, and with which method.

A view added later is checked too: it must need a login unless it is listed as public, refuse GET
unless it is listed as a page, and say `Vary: HX-Request` if htmx gets a different answer.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import UUIDConverter

from accounts.models import User
from chat.models import Conversation, Message, Project
from memories.models import Memory, MemoryEvent

HTMX = {"HTTP_HX_REQUEST": "true"}
# Anyone may open these: signing up, logging in and out, resetting a forgotten password, and
# the readiness probe (it says only whether the process has loaded its model).
PUBLIC = {
    "ready",
    "signup",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
# These answer GET with a page or a form; every other view changes something and is POST only.
PAGES = {
    "chat:home",
    "chat:conversation",
    "chat:project",
    "chat:project_new",
    "chat:project_edit",
    "chat:project_delete",
    "chat:search",
    "memories:list",
    "memories:add",
    "memories:preview",
    "memories:export",
    "memories:import",
    "memories:import_job",
    "memories:answer_memory",
    "memories:answer_changes",
    "memories:detail",
    "memories:row",
    "memories:history",
    "memories:edit",
    "memories:delete_all",
    "memories:tokens",
    "memories:token",
    "delete_account",
    "password_change",
    "password_change_done",
}


@dataclass
class Route:
    name: str
    converters: dict

    def url(
        self, conversation: Conversation, answer: Message, memory: Memory, project: Project
    ) -> str:
        kwargs = {}
        for argument, converter in self.converters.items():
            if isinstance(converter, UUIDConverter):
                kwargs[argument] = memory.pk
            elif argument == "message_id":
                kwargs[argument] = answer.pk
            elif self.name.startswith("chat:project"):
                kwargs[argument] = project.pk
            else:
                kwargs[argument] = conversation.pk
        return reverse(self.name, kwargs=kwargs)


def _routes(patterns: list, namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue  # Django's admin has its own staff login, tested by Django.
            if entry.namespace == "api":
                continue  # The memory API takes access tokens, not logins: tests/api checks it.
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _routes(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield Route(f"{namespace}{entry.name}", dict(entry.pattern.converters))


# django.contrib.auth.urls is included next to accounts.urls; each name counts once.
ROUTES = sorted(
    {route.name: route for route in _routes(get_resolver().url_patterns)}.values(),
    key=lambda route: route.name,
)
PRIVATE = [route for route in ROUTES if route.name not in PUBLIC]
CHANGING = [route for route in PRIVATE if route.name not in PAGES]
PAGE_ROUTES = [route for route in PRIVATE if route.name in PAGES]


@pytest.fixture
def site(user: User, make_conversation, make_turn, make_memory, make_project) -> tuple:
    project = make_project(user, name="Garden")
    conversation = make_conversation(user)
    turn = make_turn(conversation, "I live in Lisbon", "Noted.")
    memory = make_memory(user, "Lives in Lisbon", source_message=turn.question)
    return conversation, turn.answer, memory, project


def _snapshot() -> tuple:
    return (
        sorted(Memory.objects.values_list("pk", "status", "text", "revision")),
        Message.objects.count(),
        MemoryEvent.objects.count(),
        sorted(Conversation.objects.values_list("pk", "title", "project")),
        sorted(Project.objects.values_list("pk", "name", "is_archived", "is_closed")),
        User.objects.count(),
    )


def test_the_walk_finds_the_views_it_checks():
    names = {route.name for route in ROUTES}

    assert {"memories:delete", "memories:bulk_delete", "chat:delete", "chat:rename"} <= names
    assert names >= PUBLIC | PAGES


@pytest.mark.parametrize("route", PRIVATE, ids=lambda route: route.name)
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_private_view_sends_anonymous_visitors_to_log_in(client, site, route, method):
    response = getattr(client, method)(route.url(*site))

    assert response.status_code == 302
    assert urlsplit(response.url).path == reverse(settings.LOGIN_URL)


@pytest.mark.parametrize("route", CHANGING, ids=lambda route: route.name)
def test_every_view_that_changes_something_refuses_get(client_for, user, site, route):
    before = _snapshot()

    response = client_for(user).get(route.url(*site))

    assert response.status_code == 405
    assert _snapshot() == before


@pytest.mark.parametrize("route", PAGE_ROUTES, ids=lambda route: route.name)
def test_pages_change_nothing_when_opened(client_for, user, site, route):
    client = client_for(user)
    before = _snapshot()

    client.get(route.url(*site))
    client.get(route.url(*site), **HTMX)

    assert _snapshot() == before


@pytest.mark.parametrize("route", PAGE_ROUTES, ids=lambda route: route.name)
def test_pages_that_answer_htmx_differently_vary_on_hx_request(client_for, user, site, route):
    client = client_for(user)

    full = client.get(route.url(*site))
    partial = client.get(route.url(*site), **HTMX)

    def shape(response) -> tuple:
        templates = [template.name for template in response.templates]
        return response.status_code, response.get("Location"), templates

    if shape(full) != shape(partial):
        for response in (full, partial):
            assert "HX-Request" in response.get("Vary", "")
