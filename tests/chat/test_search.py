"""Searching one's conversations from the sidebar: matches, highlighted snippets, bad searches."""

import re

import pytest
from django.urls import reverse

from chat.search import QUERY_MAX_LENGTH, RESULT_LIMIT, search_conversations
from tests.html_safety import HTML_PAYLOADS, executable_parts

SEARCH = reverse("chat:search")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def old_chat(make_conversation, make_turn, user):
    conversation = make_conversation(user, title="Travel plans")
    make_turn(conversation, "Which ferry goes to Stromboli?", "The ferry from Milazzo.")
    return conversation


def test_a_word_from_an_old_message_finds_it_and_links_to_that_message(
    client_for, user, old_chat, make_conversation, make_turn
):
    make_turn(make_conversation(user, title="Newer chat"), "Something else entirely")
    question = old_chat.messages.get(role="user")

    response = client_for(user).get(SEARCH, {"q": "stromboli"}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/c/{old_chat.pk}/#message-{question.pk}"' in html
    assert "<mark>Stromboli</mark>" in html
    assert "Newer chat" not in html


def test_a_title_finds_its_conversation(client_for, user, old_chat):
    response = client_for(user).get(SEARCH, {"q": "travel"}, **HTMX)

    assert f'href="/c/{old_chat.pk}/"' in response.content.decode()
    assert "<mark>Travel</mark> plans" in response.content.decode()


def test_every_word_must_match(user, old_chat):
    assert search_conversations(user, "ferry Milazzo")
    assert search_conversations(user, "ferry Palermo") == []


def test_another_accounts_identical_text_is_never_found(
    client_for, user, other_user, old_chat, make_conversation, make_turn
):
    theirs = make_conversation(other_user, title="Travel plans")
    make_turn(theirs, "Which ferry goes to Stromboli?", "The ferry from Milazzo.")

    for query in ("stromboli", "travel", "ferry milazzo"):
        html = client_for(user).get(SEARCH, {"q": query}, **HTMX).content.decode()
        assert f"/c/{theirs.pk}/" not in html
        assert f"/c/{old_chat.pk}/" in html


@pytest.mark.parametrize("payload", HTML_PAYLOADS)
def test_a_snippet_escapes_the_message_and_only_our_marks_are_markup(
    client_for, user, make_conversation, make_message, payload
):
    make_message(make_conversation(user), f"needle {payload} needle")

    html = client_for(user).get(SEARCH, {"q": "needle"}, **HTMX).content.decode()

    assert "<mark>needle</mark>" in html
    assert executable_parts(html) == []
    assert set(re.findall(r"<(\w+)", html)) <= {"ul", "li", "a", "span", "mark"}


def test_a_long_message_shows_the_part_around_the_match(user, make_conversation, make_message):
    make_message(make_conversation(user), "filler " * 500 + "the kiwi word " + "filler " * 500)

    [hit] = search_conversations(user, "kiwi")

    snippet = "".join(part.text for part in hit.snippet)
    assert "kiwi" in snippet
    assert len(snippet) < 400


def test_results_are_limited(user, make_conversation, make_message):
    conversation = make_conversation(user)
    for number in range(RESULT_LIMIT + 5):
        make_message(conversation, f"note {number} about quinoa")

    assert len(search_conversations(user, "quinoa")) == RESULT_LIMIT


@pytest.mark.parametrize(
    ("query", "answer"),
    [
        ("?!… --- ;;", "punctuation alone matches nothing"),
        ("a" * 10_000, f"at most {QUERY_MAX_LENGTH} characters"),
        ("x" * (QUERY_MAX_LENGTH + 1), f"at most {QUERY_MAX_LENGTH} characters"),
    ],
)
@pytest.mark.parametrize("headers", [HTMX, {}], ids=["sidebar", "page"])
def test_a_search_that_cannot_match_gets_a_clear_answer(
    client_for, user, old_chat, query, answer, headers
):
    response = client_for(user).get(SEARCH, {"q": query}, **headers)

    assert response.status_code == 400
    assert answer in response.content.decode()


def test_the_page_without_javascript_shows_results_in_full(client_for, user, old_chat):
    response = client_for(user).get(SEARCH, {"q": "ferry"})

    assert response.status_code == 200
    assert b"<title>Search chats" in response.content
    assert b"<mark>ferry</mark>" in response.content
    assert "HX-Request" in response["Vary"]


def test_an_empty_search_clears_the_results(client_for, user, old_chat):
    response = client_for(user).get(SEARCH, {"q": "  "}, **HTMX)

    assert response.status_code == 200
    assert b"<li" not in response.content


def test_search_needs_a_login(client):
    response = client.get(SEARCH, {"q": "ferry"})

    assert response.status_code == 302
