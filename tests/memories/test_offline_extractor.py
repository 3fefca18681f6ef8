"""The deterministic extractor used with the offline model."""

import pytest

from memories.offline_extractor import extract_facts


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Hi, my name is Ada Lovelace.", [("Name is Ada Lovelace", "profile", "profile:name")]),
        ("I live in Berlin", [("Lives in Berlin", "profile", "profile:home")]),
        ("I just moved to Lisbon!", [("Lives in Lisbon", "profile", "profile:home")]),
        (
            "My favorite color is teal.",
            [("Favorite color is teal", "preference", "preference:favorite color")],
        ),
        (
            "I prefer dark mode for coding.",
            [("Prefers dark mode for coding", "preference", "preference:coding")],
        ),
        ("I prefer tea over coffee", [("Prefers tea over coffee", "preference", "")]),
        ("I hate cilantro.", [("Dislikes cilantro", "preference", "")]),
        ("Remember that my locker code is 4411", [("My locker code is 4411", "other", "")]),
        (
            "I'm working on a Django migration guide.",
            [("Is working on a Django migration guide", "task", "")],
        ),
        ("My dog is called Rex.", [("Dog is called Rex", "profile", "profile:dog")]),
    ],
)
def test_first_person_facts_become_notes(message, expected):
    facts, forgets = extract_facts(message)

    assert [(f.text, f.kind, f.slot) for f in facts] == expected
    assert forgets == []


def test_one_sentence_can_hold_several_facts():
    facts, _ = extract_facts(
        "Hi! My name is Ada, I live in Berlin and I prefer green tea for breakfast."
    )

    assert [f.text for f in facts] == [
        "Name is Ada",
        "Lives in Berlin",
        "Prefers green tea for breakfast",
    ]


def test_a_trailing_aside_is_not_part_of_the_fact():
    facts, _ = extract_facts("I just moved to Lisbon, by the way.")

    assert [f.text for f in facts] == ["Lives in Lisbon"]


def test_questions_and_chatter_yield_nothing():
    assert extract_facts("What's the weather like in Paris?") == ([], [])
    assert extract_facts("Thanks, that helps a lot.") == ([], [])


def test_forget_requests_are_recognised_and_store_nothing():
    facts, forgets = extract_facts("Please forget that I like tea.")

    assert facts == []
    assert [f.about for f in forgets] == ["I like tea"]


@pytest.mark.django_db
def test_in_a_project_chat_work_facts_go_to_the_project_and_person_facts_to_the_person(
    user, make_project, make_conversation, make_turn
):
    from memories.extraction import extract_from_turn
    from memories.models import Memory

    project = make_project(user, "Ledger")
    chat = make_conversation(user, project=project)
    turn = make_turn(chat, "We decided to use Postgres for the ledger and I prefer tea.", "Ok")

    extract_from_turn(turn.answer)

    scopes = dict(Memory.objects.values_list("text", "project_id"))
    assert scopes["Decided to use Postgres for the ledger"] == project.pk
    assert scopes["Prefers tea"] is None
