"""Answers render as sanitised Markdown; user messages, and anything hostile, stay inert text."""

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from chat.models import Conversation, Message
from chat.rendering import MARKDOWN_LIMIT_CHARS, highlight_css, render_answer_html
from tests.html_safety import XSS_PAYLOADS, executable_parts, parse
from tests.upstream import Text
from tests.websocket import delta_text, frames_until_final, send_chat

ROOT = Path(__file__).resolve().parents[2]
ANSWER_TAGS = {
    *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"),
    *("strong", "em", "s", "code", "pre", "span", "a"),
    *("ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "div"),
}
TABLE = "| Drink | mg |\n|:--|--:|\n| Tea | 30 |\n| Coffee | 95 |"
CODE = '```python\ndef greet(name):\n    return "hi " + name\n```'


def tags_named(html: str, name: str) -> list[dict[str, str]]:
    return [attributes for tag, attributes in parse(html)[0] if tag == name]


@pytest.fixture
def answer_in(make_conversation):
    """Save a message in a new conversation of `owner`."""

    def save(owner: User, content: str, role: str = "assistant", **fields) -> Message:
        conversation = make_conversation(owner)
        return Message.objects.create(
            conversation=conversation, role=role, content=content, **fields
        )

    return save


def page_of(client: Client, conversation: Conversation) -> str:
    response = client.get(reverse("chat:conversation", args=[conversation.pk]))
    assert response.status_code == 200
    return response.content.decode()


# Markdown features


def test_headings_emphasis_lists_quotes_and_inline_code_render():
    html = render_answer_html("# Title\n\n**bold** *it* `x < y`\n\n- one\n- two\n\n1. a\n\n> said")

    tags = [tag for tag, _ in parse(html)[0]]
    for tag in ("h1", "strong", "em", "code", "ul", "li", "ol", "blockquote"):
        assert tag in tags
    assert "<code>x &lt; y</code>" in html


def test_a_table_renders_with_its_column_alignment_as_classes_not_styles():
    html = render_answer_html(TABLE)

    cells = tags_named(html, "th") + tags_named(html, "td")
    assert tags_named(html, "table") and len(cells) == 6
    assert [cell.get("class") for cell in tags_named(html, "td")] == [
        "align-left",
        "align-right",
    ] * 2
    assert not any("style" in attributes for _, attributes in parse(html)[0])


def test_fenced_code_is_highlighted_and_names_its_language():
    html = render_answer_html(CODE.replace("python", "Py"))

    assert tags_named(html, "code") == [{"class": "language-python"}]
    token_classes = {span.get("class") for span in tags_named(html, "span")}
    assert {"k", "nf", "s2"} <= token_classes
    assert parse(html)[1].strip() == 'def greet(name):\n    return "hi " + name'


def test_code_in_an_unknown_language_is_shown_plain_and_escaped():
    html = render_answer_html("```klingon\n<b>Qapla'</b>\n```")

    assert tags_named(html, "code") == [{}]
    assert not tags_named(html, "b")
    assert "<b>Qapla'</b>" in parse(html)[1]


def test_links_open_in_a_new_tab_and_tell_search_engines_and_sites_nothing():
    html = render_answer_html("See [the docs](https://example.com/docs) or <https://example.org>.")

    links = tags_named(html, "a")
    assert [link["href"] for link in links] == ["https://example.com/docs", "https://example.org"]
    for link in links:
        assert {"nofollow", "noopener", "noreferrer"} <= set(link["rel"].split())
        assert link["target"] == "_blank"


def test_links_to_our_own_pages_lose_their_address():
    html = render_answer_html("[Delete your account](/accounts/delete/)")

    assert [link.get("href") for link in tags_named(html, "a")] == [None]


def test_an_image_becomes_a_link_and_is_never_fetched():
    html = render_answer_html("![secret](https://attacker.example/pixel.png?q=you-like-tea)")

    assert not tags_named(html, "img")
    assert tags_named(html, "a")[0]["href"].startswith("https://attacker.example/")


def test_raw_html_in_an_answer_is_shown_as_text():
    html = render_answer_html("Use <kbd>Ctrl</kbd> and <b>bold</b>")

    assert not tags_named(html, "kbd") and not tags_named(html, "b")
    assert "Use <kbd>Ctrl</kbd> and <b>bold</b>" in parse(html)[1]


# Hostile and unusual input


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_each_xss_payload_renders_inert(payload):
    html = render_answer_html(f"Look: {payload}\n\n{payload}")

    assert executable_parts(html) == []
    assert {tag for tag, _ in parse(html)[0]} <= ANSWER_TAGS


@pytest.mark.parametrize(
    "text",
    [
        ">" * 10_000 + " deep",
        "- " * 10_000 + "deep",
        "".join("  " * level + f"- level {level}\n" for level in range(100)) + "deep",
        "[" * 10_000 + "deep",
    ],
)
def test_deep_nesting_keeps_all_its_text(text):
    html = render_answer_html(text)

    assert "deep" in parse(html)[1]
    assert executable_parts(html) == []


def test_an_unterminated_code_fence_runs_to_the_end_of_the_answer():
    html = render_answer_html("Here:\n\n```python\nx = 1\n<script>alert(1)</script>")

    assert len(tags_named(html, "pre")) == 1
    assert "<script>alert(1)</script>" in parse(html)[1]
    assert executable_parts(html) == []


def test_an_answer_over_the_markdown_limit_is_shown_as_escaped_plain_text():
    text = "**not bold** <script>alert(1)</script>\n" * (MARKDOWN_LIMIT_CHARS // 30)

    html = render_answer_html(text)

    assert tags_named(html, "div") == [{"class": "markdown__plain"}]
    assert not tags_named(html, "strong") and executable_parts(html) == []
    assert parse(html)[1] == text


def test_right_to_left_and_emoji_text_comes_through_unchanged():
    text = "مرحبا **بالعالم** \u202e שלום 👩\u200d👩\u200d👧\u200d👦🏳️\u200d🌈🇫🇷"

    html = render_answer_html(text)

    assert parse(html)[1].strip() == text.replace("**", "")
    assert tags_named(html, "strong")


def test_the_highlighting_stylesheet_matches_the_renderer():
    assert (ROOT / "static/css/pygments.css").read_text() == highlight_css()


# The websocket


@pytest.mark.django_db(transaction=True)
async def test_an_answer_streams_as_plain_text_and_its_final_frame_renders_the_markdown(
    open_chat, upstream, conversation, user
):
    answer = f"**Tea** facts:\n\n{TABLE}\n\n{CODE}\n\n[x](javascript:alert(1))"
    upstream.script(Text(answer))
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "Compare tea and coffee")
    frames = [frame async for frame in frames_until_final(socket)]

    streamed = [text for text in map(delta_text, frames) if text is not None]
    assert "".join(streamed) == answer
    final = frames[-1]
    for tag in ("strong", "table", "pre"):
        assert tags_named(final, tag), tag
    assert {"class": "language-python"} in tags_named(final, "code")
    assert {"k", "nf"} <= {span.get("class") for span in tags_named(final, "span")}
    assert executable_parts(final) == []


# Pages


def test_a_complete_answer_shows_its_markdown_on_the_conversation_page(client_for, user, answer_in):
    answer = answer_in(user, f"{TABLE}\n\n{CODE}")

    html = page_of(client_for(user), answer.conversation)

    assert tags_named(html, "table") and tags_named(html, "pre")
    assert {"class": "language-python"} in tags_named(html, "code")


def test_a_users_own_message_stays_plain_text(client_for, user, answer_in):
    message = answer_in(user, "**not bold** and `not code`", role="user")

    html = page_of(client_for(user), message.conversation)

    assert not tags_named(html, "strong") and not tags_named(html, "code")
    assert "**not bold** and `not code`" in parse(html)[1]


def test_an_answer_still_streaming_stays_plain_text_until_its_final_render(
    client_for, user, answer_in
):
    answer = answer_in(user, "**so far**", status=Message.Status.STREAMING)

    html = page_of(client_for(user), answer.conversation)

    assert not tags_named(html, "strong")
    assert "**so far**" in parse(html)[1]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payloads_from_the_user_and_the_model_are_inert_on_the_conversation_page(
    client_for, user, answer_in, payload
):
    question = answer_in(user, payload, role="user")
    Message.objects.create(conversation=question.conversation, role="assistant", content=payload)

    assert executable_parts(page_of(client_for(user), question.conversation)) == []


@pytest.fixture
def staff_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payloads_are_inert_in_the_message_and_conversation_admin(
    staff_client, user, answer_in, payload
):
    message = answer_in(user, payload)
    Conversation.objects.filter(pk=message.conversation_id).update(title=payload)
    pages = [
        reverse("admin:chat_message_changelist"),
        reverse("admin:chat_message_change", args=[message.pk]),
        reverse("admin:chat_conversation_changelist"),
        reverse("admin:chat_conversation_change", args=[message.conversation_id]),
    ]

    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200
        assert executable_parts(response.content.decode()) == [], url
