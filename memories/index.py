"""An in-process search index of one owner's memories, kept in step with the database.

Every change to a memory stamps it with the owner's next revision (memories.services), so any
process can bring its copy up to date by loading only the rows changed since it last looked.
Hard deletions bump the owner's epoch instead, which makes every process rebuild.

Everything a search reads is a numpy array (vectors, filter columns, BM25 postings per term), so
a search costs a handful of vector operations however many memories the owner has.
"""

import math
import re
import threading
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import numpy as np
import snowballstemmer
import stop_words
from django.conf import settings

from memories import embeddings
from memories.models import Memory, MemorySettings
from memories.scopes import Scopes

# Han, kana and Hangul: written without spaces between words, so indexed by character pairs.
CJK = "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
CJK_RUN = re.compile(f"[{CJK}]+")
# Letters and digits of any script; apostrophes split ("l'été", "it's") like any other mark.
WORD = re.compile(r"[^\W_]+")
# English keeps our own short list: the usual long ones drop words people tell about themselves
# ("home", "work", "help"). The others are the stop-words package's lists.
ENGLISH_STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her hers
    him his how i if in into is it its me my of on or our she so than that the their them then
    there these they this to too us was we were what when where which who whom why will with
    would you your yours just about also very really""".split()
)
STEMMED_LANGUAGES = ("german", "spanish", "french", "italian", "portuguese", "dutch", "russian")
# Letters that only one of those languages uses (among them and English): half a stop word's
# weight, so they settle a tie, as in a terse memory ("Trinkt abends gern Kräutertee").
LETTERS_OF = {
    "german": re.compile("[äöü]"),
    "spanish": re.compile("[ñ¿¡]"),
    "french": re.compile("[œçèêëîïû]"),
    "italian": re.compile("[ìò]"),
    "portuguese": re.compile("[ãõ]"),
    "russian": re.compile("[\u0400-\u04ff]"),
}
LETTER_WEIGHT = 0.5
BM25_K1 = 1.2
BM25_B = 0.75
NO_SOURCE = -1
# The project column of person-level memories.
PERSON_SCOPE = -1
# How many memories either side of a memory, in the order they were learned, are its context.
NEIGHBOUR_SPAN = 2


def _folded(word: str) -> str:
    return unicodedata.normalize("NFKC", word).casefold()


STOPWORDS = {"english": ENGLISH_STOPWORDS} | {
    language: frozenset(_folded(word) for word in stop_words.get_stop_words(language))
    for language in STEMMED_LANGUAGES
}


def _languages_by_stopword() -> dict[str, list[str]]:
    """The languages each stop word tells of; one English uses too tells of English only."""
    languages: dict[str, list[str]] = {}
    for language, stopwords in STOPWORDS.items():
        for word in stopwords:
            if language == "english" or word not in ENGLISH_STOPWORDS:
                languages.setdefault(word, []).append(language)
    return languages


LANGUAGES_OF_STOPWORD = _languages_by_stopword()


def tokenize(text: str) -> list[str]:
    """Index terms of `text`: stemmed words of its language without stop words, CJK by pairs.

    The language is guessed per text from its stop words (and a few telling letters), English
    when nothing tells: cheap, right for a sentence, and the same guess for a memory and a
    question written alike, which is what lets their stems meet.
    """
    text = _folded(text)
    pairs = [pair for run in CJK_RUN.findall(text) for pair in _character_pairs(run)]
    words = WORD.findall(CJK_RUN.sub(" ", text) if pairs else text)
    language = _language_of(text, words)
    stopwords = STOPWORDS[language]
    return [
        _stem(language, word)
        for word in words
        if word not in stopwords and (len(word) > 1 or word.isdigit())
    ] + pairs


def language_of(text: str) -> str:
    """The language tokenize reads `text` in, or "cjk" for text written mostly in Han, kana or
    Hangul (indexed by character pairs, whatever its language)."""
    text = _folded(text)
    written_cjk = sum(len(run) for run in CJK_RUN.findall(text))
    words = WORD.findall(CJK_RUN.sub(" ", text))
    if written_cjk > sum(len(word) for word in words):
        return "cjk"
    return _language_of(text, words)


def _character_pairs(run: str) -> list[str]:
    """Overlapping pairs of characters, the usual index terms for text without word breaks."""
    if len(run) == 1:
        return [run]
    return [run[at : at + 2] for at in range(len(run) - 1)]


def _language_of(text: str, words: list[str]) -> str:
    hits = Counter(language for word in words for language in LANGUAGES_OF_STOPWORD.get(word, ()))
    for language, letters in LETTERS_OF.items():
        if letters.search(text):
            hits[language] += LETTER_WEIGHT
    # English first, so that it wins a tie.
    return max(STOPWORDS, key=hits.__getitem__)


@lru_cache(maxsize=200_000)
def _stem(language: str, word: str) -> str:
    return _stemmer(language).stemWord(word)


# A Snowball stemmer keeps the word it is stemming on itself, and turns recall in several
# threads at once (chat.turn_threads): each thread has stemmers of its own.
_thread_stemmers = threading.local()


def _stemmer(language: str) -> snowballstemmer.basestemmer.BaseStemmer:
    stemmers = _thread_stemmers.__dict__.setdefault("by_language", {})
    if language not in stemmers:
        stemmers[language] = snowballstemmer.stemmer(language)
    return stemmers[language]


@dataclass
class IndexedMemory:
    id: object
    status: str
    kind: str
    tags: tuple[str, ...]
    expires_at: datetime | None
    created_at: datetime
    text: str
    source_conversation_id: int | None = None
    project_id: int | None = None


def _grown(array: np.ndarray, size: int, fill: float | int) -> np.ndarray:
    """`array` with room for at least `size` rows; grows geometrically so appends stay cheap."""
    if size <= array.shape[0]:
        return array
    grown = np.full((max(16, size * 2), *array.shape[1:]), fill, dtype=array.dtype)
    grown[: array.shape[0]] = array
    return grown


@dataclass
class OwnerIndex:
    epoch: int = -1
    revision: int = -1
    rows: list[IndexedMemory] = field(default_factory=list)
    position: dict[object, int] = field(default_factory=dict)
    # Arrays are over-allocated; readers slice them to len(rows).
    vectors: np.ndarray = field(
        default_factory=lambda: np.zeros((0, embeddings.DIMENSIONS), dtype=np.float32)
    )
    statuses: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    kinds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    expires: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    created: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    sources: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    projects: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    total_length: int = 0
    term_counts: list[Counter] = field(default_factory=list)
    postings: dict[str, dict[int, int]] = field(default_factory=dict)
    # Status and kind names as small integers, so filters are array comparisons.
    codes: dict[str, int] = field(default_factory=dict)
    # Derived arrays, rebuilt lazily after a change: postings per term, neighbours in order.
    # Searches read without the writer's lock: a derived array is only kept when no change
    # began while it was built (`changes` moves first, the invalidation comes after the change).
    changes: int = 0
    _term_arrays: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _sequence: tuple[np.ndarray, list[np.ndarray]] | None = None

    def upsert(self, memory: Memory, vector: np.ndarray) -> None:
        self.changes += 1
        row = IndexedMemory(
            id=memory.id,
            status=memory.status,
            kind=memory.kind,
            tags=tuple(memory.tags or ()),
            expires_at=memory.expires_at,
            created_at=memory.created_at,
            text=memory.text,
            source_conversation_id=memory.source_conversation_id,
            project_id=memory.project_id,
        )
        at = self.position.get(memory.id)
        if at is None:
            at = len(self.rows)
            self.position[memory.id] = at
            self.rows.append(row)
            self._make_room(at + 1)
            self.term_counts.append(Counter())
        else:
            self.rows[at] = row
        self.vectors[at] = vector
        self.statuses[at] = self._code(row.status)
        self.kinds[at] = self._code(row.kind)
        self.expires[at] = row.expires_at.timestamp() if row.expires_at else np.inf
        self.created[at] = row.created_at.timestamp()
        self.sources[at] = row.source_conversation_id or NO_SOURCE
        self.projects[at] = _project_column(row.project_id)
        self._sequence = None
        self._replace_terms(at, Counter(tokenize(row.text)))

    def _make_room(self, size: int) -> None:
        self.vectors = _grown(self.vectors, size, 0.0)
        self.statuses = _grown(self.statuses, size, -1)
        self.kinds = _grown(self.kinds, size, -1)
        self.expires = _grown(self.expires, size, np.inf)
        self.created = _grown(self.created, size, 0.0)
        self.sources = _grown(self.sources, size, NO_SOURCE)
        self.projects = _grown(self.projects, size, PERSON_SCOPE)
        self.lengths = _grown(self.lengths, size, 0.0)

    def _code(self, name: str) -> int:
        return self.codes.setdefault(name, len(self.codes))

    def _replace_terms(self, at: int, counts: Counter) -> None:
        for term in self.term_counts[at]:
            postings = self.postings.get(term)
            if postings is not None:
                postings.pop(at, None)
                self._term_arrays.pop(term, None)
                if not postings:
                    del self.postings[term]
        for term, count in counts.items():
            self.postings.setdefault(term, {})[at] = count
            self._term_arrays.pop(term, None)
        length = sum(counts.values())
        self.total_length += length - int(self.lengths[at])
        self.lengths[at] = length
        self.term_counts[at] = counts

    def eligible(
        self,
        scopes: Scopes,
        statuses: Collection[str],
        kinds: Collection[str],
        tag: str,
        include_expired: bool,
        now: datetime,
    ) -> np.ndarray:
        """A boolean mask of the rows that pass the filters, never outside `scopes`."""
        size = len(self.rows)
        mask = np.isin(self.statuses[:size], self._codes_of(statuses))
        if not scopes.every:
            allowed = [_project_column(project_id) for project_id in scopes.project_ids]
            mask &= np.isin(self.projects[:size], allowed)
        if kinds:
            mask &= np.isin(self.kinds[:size], self._codes_of(kinds))
        if not include_expired:
            mask &= self.expires[:size] > now.timestamp()
        if tag:
            mask &= np.fromiter((tag in row.tags for row in self.rows), dtype=bool, count=size)
        return mask

    def _codes_of(self, names: Collection[str]) -> list[int]:
        return [self.codes[name] for name in names if name in self.codes]

    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        return self.vectors[: len(self.rows)] @ query_vector

    def lexical_scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 over this owner's memories only."""
        size = len(self.rows)
        scores = np.zeros(size, dtype=np.float32)
        if not size or not query_terms:
            return scores
        average_length = max(self.total_length / size, 1.0)
        for term in set(query_terms):
            arrays = self._postings_of(term)
            if arrays is None:
                continue
            at, counts = arrays
            idf = math.log(1 + (size - at.shape[0] + 0.5) / (at.shape[0] + 0.5))
            norm = counts + BM25_K1 * (1 - BM25_B + BM25_B * self.lengths[at] / average_length)
            # Each row appears once in a term's postings, so fancy-index addition is exact.
            scores[at] += idf * counts * (BM25_K1 + 1) / norm
        return scores

    def _postings_of(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        arrays = self._term_arrays.get(term)
        if arrays is None:
            changes = self.changes
            postings = self.postings.get(term)
            if not postings:
                return None
            postings = dict(postings)
            arrays = (
                np.fromiter(postings.keys(), dtype=np.int64, count=len(postings)),
                np.fromiter(postings.values(), dtype=np.float32, count=len(postings)),
            )
            if changes == self.changes:
                self._term_arrays[term] = arrays
        return arrays

    def best_nearby(self, scores: np.ndarray) -> np.ndarray:
        """For each row, the best score among the NEIGHBOUR_SPAN memories either side of it that
        came from the same source, in the order they were created (-inf where there are none)."""
        order, same_source = self._creation_sequence(scores.shape[0])
        ordered = scores[order]
        best = np.full(ordered.shape[0], -np.inf)
        for distance, linked in enumerate(same_source, start=1):
            later = np.where(linked, ordered[distance:], -np.inf)
            earlier = np.where(linked, ordered[:-distance], -np.inf)
            np.maximum(best[:-distance], later, out=best[:-distance])
            np.maximum(best[distance:], earlier, out=best[distance:])
        nearby = np.empty_like(best)
        nearby[order] = best
        return nearby

    def _creation_sequence(self, size: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Rows in creation order grouped by source, and for each distance up to NEIGHBOUR_SPAN
        whether the rows that far apart in that order share a source."""
        sequence = self._sequence
        if sequence is None or sequence[0].shape[0] != size:
            changes = self.changes
            sources = self.sources[:size]
            order = np.lexsort((self.created[:size], sources))
            ordered_sources = sources[order]
            same_source = [
                ordered_sources[distance:] == ordered_sources[:-distance]
                for distance in range(1, min(NEIGHBOUR_SPAN, size - 1) + 1)
            ]
            sequence = (order, same_source)
            if changes == self.changes:
                self._sequence = sequence
        return sequence


def _project_column(project_id: int | None) -> int:
    return PERSON_SCOPE if project_id is None else project_id


class IndexCache:
    """The indexes of the owners this process served lately, least recently used dropped first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._indexes: OrderedDict[int, OwnerIndex] = OrderedDict()
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def fresh_index(self, owner_id: int) -> OwnerIndex:
        """This owner's index, brought up to date with the database first."""
        with self._guard:
            lock = self._locks.setdefault(owner_id, threading.Lock())
        with lock:
            state = MemorySettings.objects.filter(owner_id=owner_id).values("revision", "epoch")
            current = state.first() or {"revision": 0, "epoch": 0}
            with self._guard:
                index = self._indexes.get(owner_id)
            if index is None or index.epoch != current["epoch"]:
                index = OwnerIndex(epoch=current["epoch"])
            if index.revision != current["revision"]:
                _load_changes(owner_id, index)
                index.revision = current["revision"]
            with self._guard:
                self._indexes[owner_id] = index
                self._indexes.move_to_end(owner_id)
                while len(self._indexes) > self.capacity:
                    self._indexes.popitem(last=False)
            return index

    def clear(self) -> None:
        with self._guard:
            self._indexes.clear()


def _load_changes(owner_id: int, index: OwnerIndex) -> None:
    changed = (
        Memory.objects.filter(owner_id=owner_id, revision__gt=index.revision)
        .only(
            "id",
            "status",
            "kind",
            "tags",
            "expires_at",
            "created_at",
            "text",
            "embedding",
            "source_conversation",
            "project",
        )
        .order_by("revision")
    )
    for memory in changed.iterator(chunk_size=2000):
        index.upsert(memory, embeddings.from_bytes(memory.embedding))


cache = IndexCache(capacity=settings.MEMORY_INDEX_CACHE_OWNERS)
