"""Security headers: a strict Content-Security-Policy that every page lives with, and HSTS."""

import runpy
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.urls import reverse

from chat.models import Message
from memories import services

SETTINGS_FILE = Path(__file__).resolve().parents[1] / "config" / "settings.py"
# Script elements that hold data, not code: CSP does not run them, so it does not block them.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class InlineCodeFinder(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, handlers, styles."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            elif name == "style":
                self.found.append(f"<{tag} style=...>")
            elif name in {"href", "src", "action"} and (value or "").startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")
        if tag == "style":
            self.found.append("<style> element")
        scripts_code = attributes.get("type", "text/javascript") not in DATA_SCRIPT_TYPES
        self._in_inline_script = tag == "script" and "src" not in attributes and scripts_code

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        self._in_inline_script = False


def inline_code_in(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder.found


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


@pytest.fixture
def chatted(user, make_conversation):
    conversation = make_conversation(user, title="Trip")
    Message.objects.create(conversation=conversation, role="user", content="Plan a trip.")
    Message.objects.create(conversation=conversation, role="assistant", content="**Sure**: go.")
    memory = services.add_memory(user, "Likes hiking in the Alps", kind="preference").memory
    return conversation, memory


def test_pages_send_a_policy_that_allows_only_our_own_scripts_and_socket(client_for, user):
    response = client_for(user).get(reverse("chat:home"), follow=True)

    policy = policy_of(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    # CSP Level 3: 'self' also matches ws: and wss: on the page's own host and port.
    assert policy["connect-src"] == ["'self'"]


def test_the_login_page_and_the_admin_send_the_policy_too(client, admin_client):
    for response in (client.get(reverse("login")), admin_client.get(reverse("admin:index"))):
        assert policy_of(response)["script-src"] == ["'self'"]


def test_no_page_of_ours_needs_inline_code(client_for, client, user, chatted):
    conversation, memory = chatted
    logged_in = client_for(user)
    pages = [
        reverse("chat:home"),
        conversation.get_absolute_url(),
        reverse("memories:list"),
        reverse("memories:detail", args=[memory.pk]),
        reverse("memories:edit", args=[memory.pk]),
        reverse("memories:history", args=[memory.pk]),
        reverse("memories:add"),
        reverse("memories:import"),
        reverse("memories:delete_all"),
        reverse("password_change"),
        reverse("delete_account"),
    ]

    for url in pages:
        response = logged_in.get(url, follow=True)
        assert response.status_code == 200, url
        assert inline_code_in(response.content.decode()) == [], url
    for url in (reverse("login"), reverse("signup")):
        assert inline_code_in(client.get(url).content.decode()) == [], url


def test_no_admin_page_needs_inline_code(admin_client, user, chatted):
    _, memory = chatted
    pages = [
        reverse("admin:index"),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_change", args=[user.pk]),
        reverse("admin:accounts_user_add"),
        reverse("admin:memories_memory_changelist"),
        reverse("admin:memories_memory_change", args=[memory.pk]),
        reverse("admin:axes_accessattempt_changelist"),
    ]

    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert inline_code_in(response.content.decode()) == [], url


def settings_with(monkeypatch, **environment: str) -> dict:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_secure_cookies_turn_on_hsts(monkeypatch):
    secure = settings_with(monkeypatch, SECURE_COOKIES="true", DEBUG="false")
    plain = settings_with(monkeypatch, SECURE_COOKIES="false", DEBUG="false")

    assert secure["SESSION_COOKIE_SECURE"] and secure["CSRF_COOKIE_SECURE"]
    assert secure["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert plain["SECURE_HSTS_SECONDS"] == 0


def test_https_responses_carry_hsts_when_secure_cookies_are_on(monkeypatch, settings, client, db):
    secure = settings_with(monkeypatch, SECURE_COOKIES="true", DEBUG="false")
    settings.SECURE_HSTS_SECONDS = secure["SECURE_HSTS_SECONDS"]

    response = client.get(reverse("login"), secure=True)

    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
