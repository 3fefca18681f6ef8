"""The lexical side of retrieval: word forms of one word meet, in any language users write."""

import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from memories import index, retrieval, services
from memories.index import language_of, tokenize
from memories.scopes import EVERYWHERE


@pytest.mark.parametrize(
    "forms",
    [
        ("live", "lives", "living", "lived"),
        ("hike", "hikes", "hiking", "hiked"),
        ("city", "cities"),
        ("box", "boxes"),
        ("Kräutertee", "Kräutertees", "KRÄUTERTEE"),
        ("Straße", "Strasse"),
        ("Mi canción favorita", "Mis canciones favoritas"),
        ("J'habite à Lyon", "Vous habitez à Lyon", "Ils habitaient à Lyon"),
        ("Mon école préférée", "Mes écoles préférées"),
    ],
)
def test_forms_of_a_word_share_one_token(forms):
    assert len({tuple(tokenize(form)) for form in forms}) == 1


def test_stopwords_are_dropped():
    assert tokenize("Where do I live now?") == ["live", "now"]


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Ich wohne in München", "munch"),
        ("Ich trinke gern Kräutertee", "krauterte"),
        ("Me gusta la música de mi abuela", "music"),
        ("J'habite à Montréal depuis un an", "montréal"),
    ],
)
def test_letters_outside_ascii_stay_inside_their_word(text, kept):
    assert kept in tokenize(text)


@pytest.mark.parametrize(
    ("text", "stopwords"),
    [
        ("Ich wohne in der Stadt", {"ich", "in", "der"}),
        ("Vivo en Sevilla con mi hermana", {"en", "con", "mi"}),
        ("Où est-ce que j'habite ?", {"où", "est", "que"}),
    ],
)
def test_stopwords_of_the_texts_language_are_dropped(text, stopwords):
    assert not stopwords & set(tokenize(text))


def test_a_question_and_a_memory_in_spanish_share_their_stem():
    assert set(tokenize("¿Dónde vivo?")) & set(tokenize("Vivo en Sevilla con mi hermana"))


def test_japanese_is_indexed_by_character_pairs():
    assert tokenize("東京に住む") == ["東京", "京に", "に住", "住む"]


def test_japanese_question_recalls_the_japanese_memory(user):
    services.add_memory(user, "Works as a nurse on night shifts")
    services.add_memory(user, "猫を二匹飼っています")
    services.add_memory(user, "毎朝コーヒーを飲みます")
    home = services.add_memory(user, "東京の下北沢に住んでいます").memory

    # A full-width question mark, as Japanese keyboards type it.
    hits = retrieval.search(user.id, "私はどこに住んでいますか？", limit=1, scopes=EVERYWHERE)  # noqa: RUF001

    assert [hit.memory_id for hit in hits] == [home.id]
    assert hits[0].lexical > 0


def test_german_question_recalls_the_german_memory_by_its_stem(user):
    services.add_memory(user, "Spielt sonntags Fußball im Verein")
    services.add_memory(user, "Trinkt abends gern Kräutertee")
    cats = services.add_memory(user, "Hat zwei Katzen und einen Hund").memory

    hits = retrieval.search(user.id, "Wie heißt meine Katze?", limit=1, scopes=EVERYWHERE)

    assert [hit.memory_id for hit in hits] == [cats.id]
    assert hits[0].lexical > 0


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Where do I live now?", "english"),
        ("Wo wohne ich eigentlich?", "german"),
        ("¿Dónde vivo ahora?", "spanish"),
        ("私はどこに住んでいますか", "cjk"),
        ("TOEICで800点を目指して英語を勉強している", "cjk"),
    ],
)
def test_the_language_a_text_is_read_in(text, language):
    assert language_of(text) == language


def test_turns_tokenizing_at_once_in_many_threads_each_get_their_own_stems():
    # Turns recall in a pool of threads (chat.turn_threads); Snowball stemmers keep the word being
    # stemmed on the stemmer object, so one shared stemmer mixed up words or raised IndexError.
    endings = ("ungen", "lichkeiten", "erinnen", "heiten", "ischen", "endes")
    sentences = [
        f"Die Wanderungen {number} der Bergsteigerinnen{ending} und Gemütlichkeiten{number}"
        for number in range(1500)
        for ending in endings[number % 3 :: 3]
    ]
    expected = [tokenize(sentence) for sentence in sentences]
    index._stem.cache_clear()  # stemmed afresh below, by the threads at once
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as the interpreter lets them
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            tokenized = list(pool.map(tokenize, sentences))
    finally:
        sys.setswitchinterval(switch_interval)

    assert tokenized == expected
