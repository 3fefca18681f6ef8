"""The relevance gate: a turn gets the memories that help answer it, and nothing otherwise."""

import pytest

from memories import recall, relevance
from memories.scopes import PERSON_ONLY

# A made-up user of these tests only (the benchmark's users live in bench/quality).
INES = {
    "vegetarian": ("Is vegetarian", "preference"),
    "home": ("Lives in Porto, Portugal", "profile"),
    "job": ("Works as a nurse on night shifts", "profile"),
    "memoir": ("Is writing a memoir about her grandmother", "task"),
    "dog": ("Dog is called Biscoito", "profile"),
    "violin": ("Plays the violin in an amateur orchestra", "other"),
    "shellfish": ("Is allergic to shellfish", "profile"),
    "sister": ("Sister Marta lives in Lyon", "profile"),
    "bread": ("Makes sourdough bread every weekend", "other"),
    "train": ("Prefers window seats on trains", "preference"),
    "marathon": ("Is training for the Porto marathon in November", "task"),
    "tea": ("Drinks green tea in the morning", "preference"),
}


@pytest.fixture
def ines(user, make_memory):
    for text, kind in INES.values():
        make_memory(user, text, kind=kind)
    return user


def injected(owner, text: str) -> list[str]:
    return [item.memory.text for item in recall.recall(owner, text, scopes=PERSON_ONLY)]


@pytest.mark.parametrize(
    "text", ["Okay, that makes sense now.", "Good morning! How are you today?", "haha, nice one"]
)
def test_small_talk_injects_nothing(ines, text):
    assert injected(ines, text) == []


def test_a_shared_common_word_alone_is_no_evidence(ines):
    assert injected(ines, "How does a work-stealing scheduler work?") == []
    assert injected(ines, "Tips for writing a good cover letter?") == []


@pytest.mark.parametrize(
    "text", ["Why do dogs wag their tails?", "Who composed the most famous violin concertos?"]
)
def test_a_general_knowledge_question_injects_nothing(ines, text):
    assert injected(ines, text) == []


@pytest.mark.parametrize(
    ("text", "fact"),
    [
        ("Is the seafood paella safe for me to eat?", "shellfish"),
        ("Which seat should I book for my journey to see my family in France?", "train"),
    ],
)
def test_a_paraphrased_question_reaches_its_fact(ines, text, fact):
    assert INES[fact][0] in injected(ines, text)


def test_a_question_with_one_rare_shared_name_gets_its_fact(ines):
    assert injected(ines, "What's a good toy for Biscoito?") == [INES["dog"][0]]


def test_a_question_about_someone_the_memories_name_gets_their_memory(ines):
    # Asked like an encyclopedic question, but about a person in the user's life.
    assert injected(ines, "When did Marta move to Lyon?") == [INES["sister"][0]]


def test_a_personal_request_gets_its_fact_and_not_the_whole_memory(ines):
    assert injected(ines, "Suggest a vegetarian dinner I could make tonight.") == [
        INES["vegetarian"][0]
    ]


def test_personal_words_and_encyclopedic_openings_across_languages():
    assert relevance.is_personal("Was koche ich für meine Freunde?")
    assert relevance.is_personal("¿Qué puedo cocinar para mis amigos?")
    assert relevance.is_personal("Que dois-je cuisiner pour mes amis ?")
    assert relevance.is_personal("私の猫の名前は")
    assert not relevance.is_personal("Why do cats purr?")
    assert relevance.is_encyclopedic("Wer hat die finnische Sauna erfunden?")
    assert relevance.is_encyclopedic("How does a derailleur change gears?")
    assert not relevance.is_encyclopedic("What's a good birthday treat for Mochi?")
    assert not relevance.is_encyclopedic("How do I get to work when the roads are icy?")


def test_a_stored_tool_answer_serves_the_same_general_question(user, make_memory):
    for text, kind in INES.values():
        make_memory(user, text, kind=kind)
    answer = 'Result of find_time_zone({"place": "Lyon"}): Europe/Paris'
    make_memory(user, answer, kind="tool_result")

    assert answer in injected(user, "Which time zone is Lyon in?")


def test_a_message_asking_two_things_gets_the_memory_for_each(user, make_memory):
    make_memory(user, "Lives in Porto", kind="profile")
    make_memory(user, "Prefers window seats", kind="preference")

    # Each half alone is 0.34 and 0.68 from its memory; the whole message 0.26 from "Porto".
    found = injected(user, "Which city do I live in, and which seats do I like?")

    assert sorted(found) == ["Lives in Porto", "Prefers window seats"]


# A German user: the embedder knows English only, so here words carry the decision.
LENA = {
    "home": "Wohnt in Freiburg im Breisgau",
    "job": "Arbeitet als Tischlerin in einer kleinen Werkstatt",
    "cello": "Spielt Cello im Stadtorchester",
    "coffee": "Trinkt morgens schwarzen Kaffee",
    "cat": "Hat eine Katze namens Pünktchen",
    "cycling": "Plant im Oktober eine Radtour an der Mosel",
    "spanish": "Lernt Spanisch mit einer App",
    "peanuts": "Ist allergisch gegen Erdnüsse",
    "swimming": "Geht mittwochs schwimmen",
    "bills": "Muss bis Freitag die Nebenkostenabrechnung prüfen",
}


@pytest.fixture
def lena(user, make_memory):
    for text in LENA.values():
        make_memory(user, text)
    return user


def test_in_another_language_two_shared_words_bring_the_memory(lena):
    assert injected(lena, "Welche Strecke an der Mosel passt für meine Radtour?") == [
        LENA["cycling"]
    ]


def test_in_another_language_one_shared_word_alone_is_no_evidence(lena):
    assert injected(lena, "Übersetze bitte: 'Die Katze schläft auf dem Sofa.'") == []


def test_japanese_grammar_is_no_content_word():
    # "はほ", "を飲": pairs around particles; "じ茶" the edge of ほうじ茶. Only kanji or katakana.
    assert relevance.content_terms("夜はほうじ茶を飲む") == set()
    assert relevance.content_terms("ホラー映画が苦手") == {"ホラ", "ラー", "ー映", "映画", "苦手"}


def test_a_japanese_question_sharing_two_words_gets_its_memory(user, make_memory):
    for text in [
        "京都の大学で建築を勉強している",
        "毎晩ジョギングをしている",
        "犬を一匹飼っている",
        "コーヒーより紅茶が好き",
        "来月ロンドンへ出張する",
        "ピアノを十年習っている",
        "妹は看護師として働いている",
        "辛い料理が苦手",
        "週末は山登りに行く",
        "新しい自転車を買いたい",
        "夏休みに沖縄へ行く予定",
        "英語の試験を受ける",
    ]:
        make_memory(user, text)

    assert injected(user, "建築の勉強に役立つ本を教えて") == ["京都の大学で建築を勉強している"]


def test_the_readme_demo_recalls_both_things_said_in_one_breath(user, make_memory):
    # What a new user's first spoken sentence stores ("I live in Porto and I prefer window seats"),
    # then asks in a new chat: the two facts are all this user has.
    make_memory(user, "Lives in Porto", kind="profile")
    make_memory(user, "Prefers window seats", kind="preference")

    assert sorted(injected(user, "Where do I live, and which seats do I like?")) == [
        "Lives in Porto",
        "Prefers window seats",
    ]
