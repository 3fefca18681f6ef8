"""The lexical side of retrieval: word forms of one word meet."""

import pytest

from memories.index import tokenize


@pytest.mark.parametrize(
    "forms",
    [
        ("live", "lives", "living", "lived"),
        ("hike", "hikes", "hiking", "hiked"),
        ("city", "cities"),
        ("box", "boxes"),
    ],
)
def test_forms_of_a_word_share_one_token(forms):
    assert len({tuple(tokenize(form)) for form in forms}) == 1


def test_stopwords_are_dropped():
    assert tokenize("Where do I live now?") == ["liv", "now"]
