"""Spoken messages say so in the conversation, in words, beside typed ones that do not."""

import re

import pytest
from django.urls import reverse

from chat.models import Message
from tests.html_safety import parse

pytestmark = pytest.mark.django_db


def article_of(page: str, message: Message) -> tuple[list[tuple[str, dict[str, str]]], str]:
    """The tags and the text a reader gets of one message on the page."""
    match = re.search(rf'<article id="{message.dom_id}".*?</article>', page, re.DOTALL)
    assert match, f"{message.dom_id} is not on the page"
    return parse(match.group(0))


def test_spoken_messages_carry_a_spoken_badge_and_typed_ones_do_not(
    client_for, user, conversation, make_turn
):
    typed_question, typed_answer = make_turn(conversation, "Hello", "Hi!")
    spoken_question, spoken_answer = make_turn(conversation, "Where do I live?", "Porto.")
    Message.objects.filter(pk__in=[spoken_question.pk, spoken_answer.pk]).update(
        via=Message.Via.VOICE
    )

    page = client_for(user).get(reverse("chat:conversation", args=[conversation.pk]))

    html = page.content.decode()
    for message in (spoken_question, spoken_answer):
        tags, text = article_of(html, message)
        badges = [attrs for tag, attrs in tags if "badge" in attrs.get("class", "")]
        # Words a screen reader reads out, not an icon alone.
        assert "Spoken" in text.split()
        assert [badge.get("title") for badge in badges] == ["Said aloud in a voice session"]
    for message in (typed_question, typed_answer):
        _, text = article_of(html, message)
        assert "Spoken" not in text.split()
