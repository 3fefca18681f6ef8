"""The offline extractor: deterministic rules that pick durable first-person facts out of a message.

It stands in for mem0's LLM extraction when no model is configured, so the whole memory pipeline
still runs (and is testable) with no network.
"""

import re
from dataclasses import dataclass

from memories.models import MemoryKind


@dataclass(frozen=True)
class Fact:
    text: str
    kind: str
    # Facts with the same slot describe the same thing at different times; the newest wins.
    slot: str = ""


@dataclass(frozen=True)
class ForgetRequest:
    about: str


# A phrase ends at a sentence or clause break, or where the next first-person clause starts
# ("I live in Berlin and I prefer tea" holds two facts).
_END = r"(?=[.!?;,\n]|\s+(?:and|but|so|because|while)\s+(?:I|I'm|my|we)\b|$)"
_PHRASE = r"([^.!?;\n]{2,120}?)"


def _rule(pattern: str) -> re.Pattern:
    return re.compile(pattern.replace("{PHRASE}", _PHRASE).replace("{END}", _END), re.IGNORECASE)


FORGET = _rule(r"\bforget (?:that |about )?{PHRASE}{END}")
REMEMBER = _rule(r"\bremember (?:that )?{PHRASE}{END}")
NAME = _rule(r"\b(?:my name is|call me)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")
LIVES = _rule(
    r"\bI(?:\s+just)?\s+(?:live|am living|'m living|moved|have moved|'ve moved)\s+(?:in|to)\s+"
    r"{PHRASE}{END}"
)
FROM = _rule(r"\bI(?: am|'m) from\s+{PHRASE}{END}")
WORK = _rule(r"\bI work\s+(as|at|for|on)\s+{PHRASE}{END}")
FAVORITE = _rule(r"\bmy favou?rite\s+([\w ]{2,40}?)\s+(?:is|are)\s+{PHRASE}{END}")
PREFER_FOR = _rule(r"\bI prefer\s+([^.!?;\n]{2,80}?)\s+(?:for|when|in)\s+{PHRASE}{END}")
PREFER = _rule(r"\bI (?:really |much |strongly )?prefer\s+{PHRASE}{END}")
LIKE = _rule(r"\bI (?:really )?(?:like|love|enjoy)\s+{PHRASE}{END}")
DISLIKE = _rule(
    r"\bI (?:really )?(?:don't like|do not like|dislike|hate|can't stand)\s+{PHRASE}{END}"
)
ALLERGY = _rule(r"\bI(?: am|'m) allergic to\s+{PHRASE}{END}")
WORKING_ON = _rule(r"\bI(?: am|'m) (?:working on|building|writing|planning)\s+{PHRASE}{END}")
NEED_TO = _rule(r"\bI (?:need|have|want) to\s+{PHRASE}{END}")
# Facts about the work: what was decided, by when, where it stands, what is still open.
DECIDED = _rule(r"\b(?:we|I)(?:'ve| have)? (?:decided|agreed|chose)\s+{PHRASE}{END}")
DEADLINE = _rule(r"\b(?:the )?deadline (?:is|was moved to|moved to)\s+{PHRASE}{END}")
STATUS = _rule(r"\b(?:the )?status(?: is|:)\s*{PHRASE}{END}")
OPEN_QUESTION = _rule(r"\bopen question(?: is)?:?\s*{PHRASE}{END}")
MY_X_IS = _rule(r"\bmy\s+([a-z][\w' ]{1,30}?)\s+(?:is|are)\s+{PHRASE}{END}")


def extract_facts(message: str) -> tuple[list[Fact], list[ForgetRequest]]:
    """The durable facts stated in a user's message, and what they asked to forget."""
    forgets = [ForgetRequest(_clean(m.group(1))) for m in FORGET.finditer(message)]
    if forgets:
        # "Forget that I like tea" states no new fact about tea.
        return [], forgets
    facts: list[Fact] = []
    covered: list[tuple[int, int]] = []

    def add(match: re.Match, text: str, kind: str, slot: str = "") -> None:
        if any(start <= match.start() < end for start, end in covered):
            return
        covered.append(match.span())
        facts.append(Fact(_sentence(text), kind, slot))

    for match in DECIDED.finditer(message):
        add(match, f"Decided {_clean(match.group(1))}", MemoryKind.TASK)
    for match in DEADLINE.finditer(message):
        add(match, f"Deadline is {_clean(match.group(1))}", MemoryKind.TASK, "task:deadline")
    for match in STATUS.finditer(message):
        add(match, f"Status: {_clean(match.group(1))}", MemoryKind.TASK, "task:status")
    for match in OPEN_QUESTION.finditer(message):
        add(match, f"Open question: {_clean(match.group(1))}", MemoryKind.TASK)
    for match in REMEMBER.finditer(message):
        add(match, _clean(match.group(1)), MemoryKind.OTHER)
    for match in NAME.finditer(message):
        add(match, f"Name is {match.group(1)}", MemoryKind.PROFILE, "profile:name")
    for match in LIVES.finditer(message):
        add(match, f"Lives in {_clean(match.group(1))}", MemoryKind.PROFILE, "profile:home")
    for match in FROM.finditer(message):
        add(match, f"Is from {_clean(match.group(1))}", MemoryKind.PROFILE, "profile:origin")
    for match in WORK.finditer(message):
        add(
            match,
            f"Works {match.group(1).lower()} {_clean(match.group(2))}",
            MemoryKind.PROFILE,
            "profile:work",
        )
    for match in FAVORITE.finditer(message):
        topic = _clean(match.group(1)).lower()
        add(
            match,
            f"Favorite {topic} is {_clean(match.group(2))}",
            MemoryKind.PREFERENCE,
            f"preference:favorite {topic}",
        )
    for match in PREFER_FOR.finditer(message):
        context = _clean(match.group(2)).lower()
        add(
            match,
            f"Prefers {_clean(match.group(1))} for {context}",
            MemoryKind.PREFERENCE,
            f"preference:{context}",
        )
    for match in PREFER.finditer(message):
        add(match, f"Prefers {_clean(match.group(1))}", MemoryKind.PREFERENCE)
    for match in DISLIKE.finditer(message):
        add(match, f"Dislikes {_clean(match.group(1))}", MemoryKind.PREFERENCE)
    for match in LIKE.finditer(message):
        add(match, f"Likes {_clean(match.group(1))}", MemoryKind.PREFERENCE)
    for match in ALLERGY.finditer(message):
        add(match, f"Is allergic to {_clean(match.group(1))}", MemoryKind.PROFILE)
    for match in WORKING_ON.finditer(message):
        add(match, f"Is working on {_clean(match.group(1))}", MemoryKind.TASK)
    for match in NEED_TO.finditer(message):
        add(match, f"Needs to {_clean(match.group(1))}", MemoryKind.TASK)
    for match in MY_X_IS.finditer(message):
        subject = _clean(match.group(1)).lower()
        add(
            match,
            f"{subject.capitalize()} is {_clean(match.group(2))}",
            MemoryKind.PROFILE,
            f"profile:{subject}",
        )
    return facts, forgets


# Words that mark a fact as about the person, in the phrasing extraction models use
# ("User prefers window seats", "Lives in Lisbon").
_PERSON_FACT = re.compile(
    r"\b(?:prefers?|likes?|loves?|enjoys?|dislikes?|hates?|favou?rite|allergic|lives?|living|"
    r"name is|works? (?:as|at|for)|is from|born)\b",
    re.IGNORECASE,
)


# Words that mark a fact as about the work: a decision, a deadline, a status, an open question.
_WORK_FACT = re.compile(
    r"\b(?:decided|decision|agreed|deadline|due|status|open question|next step|blocked|"
    r"milestone|plan(?:ned|s)? to|will ship|todo)\b",
    re.IGNORECASE,
)


def kind_of(text: str) -> str:
    """The kind of an already extracted fact (mem0's, which come without one): a task note, a
    preference or profile fact about the person, or "other"."""
    if _WORK_FACT.search(text):
        return MemoryKind.TASK
    match = _PERSON_FACT.search(text)
    if match is None:
        return MemoryKind.OTHER
    word = match[0].lower()
    preference = ("prefer", "like", "love", "enjoy", "dislike", "hate", "favo")
    return MemoryKind.PREFERENCE if word.startswith(preference) else MemoryKind.PROFILE


def _clean(text: str) -> str:
    return " ".join(text.strip().strip("\"'“”").split())


def _sentence(text: str) -> str:
    text = _clean(text)
    return text[:1].upper() + text[1:] if text else text
