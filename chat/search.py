"""Searching the owner's conversations by title and by what was said in them.

PostgreSQL uses its full-text search (ranked matches and headlines); SQLite, the development
database, falls back to a substring match over the newest messages, bounded by RESULT_LIMIT.
"""

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet

from accounts.models import User
from chat.models import Conversation, Message

QUERY_MAX_LENGTH = 200
RESULT_LIMIT = 20
# The words any search keeps; more would only narrow a substring match to nothing.
QUERY_MAX_WORDS = 8
SNIPPET_CONTEXT_CHARS = 60
# "simple": no stemming, so German, Japanese and English messages are matched alike.
TEXT_SEARCH_CONFIG = "simple"
# PostgreSQL marks matches with these; control characters a message is unlikely to hold, so the
# snippet is split on them and every piece escaped by the template.
_MATCH_START = "\x02"
_MATCH_END = "\x03"
_WORD = re.compile(r"\w+")


class InvalidSearch(Exception):
    """A search that cannot match anything, with the reason worded for the person searching."""


@dataclass(frozen=True)
class SnippetPart:
    text: str
    is_match: bool


@dataclass(frozen=True)
class SearchHit:
    conversation: Conversation
    # None when only the conversation's title matched.
    message: Message | None
    snippet: list[SnippetPart]

    @property
    def url(self) -> str:
        url = self.conversation.get_absolute_url()
        return f"{url}#{self.message.dom_id}" if self.message else url


def search_conversations(owner: User, query: str) -> list[SearchHit]:
    """The owner's conversations whose title or messages hold every word of the query."""
    words = _words_of(query)
    matching = Message.objects.filter(conversation__owner=owner).select_related("conversation")
    if connection.vendor == "postgresql":
        message_hits = _full_text_hits(matching, query)
    else:
        message_hits = _substring_hits(matching, words)
    return (_title_hits(owner, words) + message_hits)[:RESULT_LIMIT]


def _words_of(query: str) -> list[str]:
    query = query.strip()
    if len(query) > QUERY_MAX_LENGTH:
        raise InvalidSearch(f"A search can be at most {QUERY_MAX_LENGTH} characters long.")
    words = _WORD.findall(query)
    if not words:
        raise InvalidSearch("Search for a word or a number: punctuation alone matches nothing.")
    return words[:QUERY_MAX_WORDS]


def _title_hits(owner: User, words: list[str]) -> list[SearchHit]:
    titles = Conversation.objects.filter(owner=owner)
    for word in words:
        titles = titles.filter(title__icontains=word)
    return [
        SearchHit(conversation, None, _highlighted(conversation.title, words))
        for conversation in titles[:RESULT_LIMIT]
    ]


def _full_text_hits(messages: QuerySet[Message], query: str) -> list[SearchHit]:
    search_query = SearchQuery(query, search_type="websearch", config=TEXT_SEARCH_CONFIG)
    document = SearchVector("content", config=TEXT_SEARCH_CONFIG)
    found = (
        messages.annotate(document=document)
        .filter(document=search_query)
        .annotate(
            rank=SearchRank(document, search_query),
            headline=SearchHeadline(
                "content",
                search_query,
                config=TEXT_SEARCH_CONFIG,
                start_sel=_MATCH_START,
                stop_sel=_MATCH_END,
                max_words=24,
                min_words=8,
            ),
        )
        .order_by("-rank", "-created_at")[:RESULT_LIMIT]
    )
    return [
        SearchHit(message.conversation, message, _parts_of_headline(message.headline))
        for message in found
    ]


def _substring_hits(messages: QuerySet[Message], words: list[str]) -> list[SearchHit]:
    query = Q()
    for word in words:
        query &= Q(content__icontains=word)
    found = messages.filter(query).order_by("-created_at", "-id")[:RESULT_LIMIT]
    return [
        SearchHit(
            message.conversation, message, _highlighted(_excerpt(message.content, words), words)
        )
        for message in found
    ]


def _excerpt(text: str, words: list[str]) -> str:
    """The part of a long text around its first match."""
    first = min(
        (index for word in words if (index := text.casefold().find(word.casefold())) >= 0),
        default=0,
    )
    start = max(0, first - SNIPPET_CONTEXT_CHARS)
    end = first + 2 * SNIPPET_CONTEXT_CHARS
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def _highlighted(text: str, words: list[str]) -> list[SnippetPart]:
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    parts: list[SnippetPart] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            parts.append(SnippetPart(text[position : match.start()], is_match=False))
        parts.append(SnippetPart(match.group(), is_match=True))
        position = match.end()
    if position < len(text):
        parts.append(SnippetPart(text[position:], is_match=False))
    return parts


def _parts_of_headline(headline: str) -> list[SnippetPart]:
    parts: list[SnippetPart] = []
    for index, piece in enumerate(headline.split(_MATCH_START)):
        matched, _, rest = piece.partition(_MATCH_END) if index else ("", "", piece)
        if matched:
            parts.append(SnippetPart(matched, is_match=True))
        if rest:
            parts.append(SnippetPart(rest, is_match=False))
    return parts
