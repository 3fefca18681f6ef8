"""Whether a retrieved memory helps answer a message: the gate between search and the prompt.

Search ranks every memory; this decides which of the best few are worth injecting. A memory
passes on meaning (dense similarity, calibrated on bench/quality) or on lexical evidence: a
content word the message and memory share that is not one of the everyday words any two texts
share ("work", "good", "write"). The message's intent moves the bar: a general-knowledge
question ("How does X work?") with no word about the user needs stronger evidence than a
personal one ("Where should I...", "Book me..."), unless it names someone or something the
memory names too. In a language the embedder was not trained on its similarities say little, so
there a shared content word counts by how far the memory's BM25 score stands out instead.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from memories import embeddings
from memories.index import language_of, tokenize
from memories.models import MemoryKind

# Words about the speaker, in the languages the app's users write. Matched as whole words on
# the lowercased message (or as substrings for Japanese, which has no spaces).
_PERSONAL_WORDS = frozenset(
    """i i'm i've i'd i'll im ive me my mine myself we we're we've we'll us our ours ourselves
    ich mich mir mein meine meinen meinem meiner meines wir uns unser unsere unseren unserem
    yo me mi mis mío mía conmigo nosotros nosotras nuestro nuestra nuestros nuestras
    je j' moi mon ma mes nous notre nos""".split()
)
_PERSONAL_JAPANESE = ("私", "僕", "俺", "わたし", "自分", "うち")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Japanese writes particles and endings in hiragana ("から", "の大", "を飲"): a character pair with
# hiragana in it is mostly grammar, or a word's edge; topics are written in kanji and katakana.
_HIRAGANA = re.compile("[\u3040-\u309f]")

# Everyday words that carry no topic of their own: a memory sharing only these with a message
# is not evidence it is about the same thing. Stemmed with index.tokenize at first use, so they
# follow the tokenizer.
_COMMON_WORDS = """
    work works working worked write writes writing wrote written make makes making made get gets
    getting got go goes going went gone good better best great nice new old big small little
    long short tip tips help helps helping need needs needed want wants wanted know knows knew
    think thinks thought like likes liked use uses used using give gives gave take takes took
    tell tells told say says said ask asks asked try tries tried find finds found keep keeps kept
    let lets put puts see sees saw look looks looking come comes came call calls called feel
    feels felt start starts started stop stops stopped show shows run runs ran set sets turn
    turns thing things stuff way ways time times day days week weeks month months year years
    today tomorrow yesterday tonight now again still ever never always sometimes often soon
    later first last next other another some any every each many much more most few lot lots
    bit kind sort type part place people person someone something anything everything nothing
    one two three right well back even only own same different sure fine okay ok yes no please
    thanks thank maybe really quite enough should shall might must may need suggest recommend
    idea ideas question answer explain difference mean means best way how why what which who
    der die das den dem des ein eine einen einem einer und oder mit von zu zum zur im am an auf
    für ist sind hat haben wie was wer wo wann kann soll sich nicht auch noch
    el la los las un una unos unas y o con de del al en por para es son qué cómo cuál dónde
    cuándo quién se no más muy
    le les une et ou avec du au aux dans sur pour est sont quel quelle comment où quand qui
    ne pas plus très
    """


# How encyclopedic questions open ("Who painted...", "How does X work?", "Was ist..."): asked
# without a word about the writer, they want knowledge of the world, not of the user.
_ENCYCLOPEDIC_OPENING = re.compile(
    r"""^\W*(?:
        who|when|why|explain|define|describe
        |how\s+(?:do|does|did|is|are|was|were)
        |what(?:'s|\u2019s|\s+is|\s+are|\s+was|\s+were|\s+does|\s+do|\s+did)\b
        |where\s+(?:is|are|was|were|does|do|did)
        |wer|wann|warum|wieso|weshalb|wie\s+funktionier\w*|was\s+(?:ist|sind|war|waren)
        |quién|quiénes|cuándo|por\s+qué|cómo\s+funciona\w*|qué\s+(?:es|son|era)
        |qui|quand|pourquoi|comment\s+fonctionne\w*|qu['\u2019]est-ce
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
# ...unless they ask for advice, which may depend on the user ("What's a good treat for Mochi?"),
# or to be reminded of something said before ("What was 1500 CAD in cedis again?").
_NOT_ENCYCLOPEDIC_WORDS = frozenset(
    "should could good best recommend suggest ideas idea again".split()
)


@dataclass(frozen=True)
class Candidate:
    """One search hit as the gate sees it."""

    text: str
    kind: str
    similarity: float
    # How far the similarity stands above the owner's other memories, in standard deviations;
    # NaN when the owner has too few memories to tell, and then only the similarity counts.
    standing: float
    # The same for the memory's BM25 score against the message.
    lexical_standing: float = float("nan")
    # Closest, by STANDOUT_GAP, to one clause of a message that asks several things ("Where do I
    # live, and which seats do I like?"): the clause's one best memory, as `stands_out` is the
    # whole message's.
    leads_a_clause: bool = False

    def clears(self, bar: "Bar") -> bool:
        return self.similarity >= bar.similarity and not self.standing < bar.standing

    def clears_lexically(self, bar: "Bar") -> bool:
        """The bar's standing met by the BM25 score: for languages the embedder does not know."""
        return not self.lexical_standing < bar.standing


@dataclass(frozen=True)
class Bar:
    """A minimum similarity and a minimum standing, both to be met. The similarity alone lets
    through every memory of a language the embedder knows badly (all of them score high
    together); the standing alone lets through the best of a bad lot."""

    similarity: float
    standing: float


# Calibrated on bench/quality, English users grace, kwame and maya only (bench/RESULTS.md),
# each from a plateau rather than a peak. For a message about its writer:
CLOSE = Bar(0.42, 2.5)  # close in meaning, no shared word needed (paraphrases)
CLOSE_WITH_EVIDENCE = Bar(0.3, 1.5)  # a shared content word, and not far in meaning
STANDS_OUT = Bar(0.25, 2.0)  # the one best memory, clearly ahead of the next
STANDOUT_GAP = 0.05
# For a message with no word about its writer ("Tips for a cover letter?"):
IMPERSONAL_WITH_EVIDENCE = Bar(0.5, 3.0)
TOOL_RESULT = Bar(0.55, 2.5)  # a stored tool answer is worth reusing for the same question
# A message naming something the memory names needs only CLOSE_WITH_EVIDENCE, whatever its intent.
# In a language the embedder does not know, words alone must carry the decision: two shared content
# words (one is what a near miss shares by definition, bench/quality/README.md).
CORROBORATED = 2


def is_personal(message: str) -> bool:
    """Whether the message says something about its writer ("my", "I", "we", "mich", "私")."""
    lowered = message.lower()
    words = {word.replace("\u2019", "'") for word in _WORD.findall(lowered)}
    return bool(words & _PERSONAL_WORDS) or any(w in message for w in _PERSONAL_JAPANESE)


def is_encyclopedic(message: str) -> bool:
    """Whether the message asks about the world, not the writer: "Why do cats purr?"."""
    if is_personal(message) or not _ENCYCLOPEDIC_OPENING.match(message):
        return False
    return not set(_WORD.findall(message.lower())) & _NOT_ENCYCLOPEDIC_WORDS


def named_terms(message: str) -> set[str]:
    """The content terms of the capitalised words past the first ("Caroline", "Mochi", "Lyon").

    None in German, which capitalises every noun ("Katze", "Steuererklärung").
    """
    if language_of(message) == "german":
        return set()
    words = _WORD.findall(message)[1:]
    return content_terms(" ".join(word for word in words if word[:1].isupper()))


def content_terms(text: str) -> set[str]:
    """The text's stemmed words that can carry a topic: not stop words, not everyday words."""
    return {
        term
        for term in tokenize(text)
        if term not in _common_terms()
        and not (term.isascii() and len(term) < 3)
        and not _HIRAGANA.search(term)
    }


@cache
def _common_terms() -> frozenset[str]:
    return frozenset(tokenize(_COMMON_WORDS))


def relevant(message: str, candidates: Sequence[Candidate]) -> list[int]:
    """Positions of the candidates worth injecting for `message`, in their given order."""
    personal = is_personal(message)
    encyclopedic = is_encyclopedic(message)
    understood = language_of(message) in embeddings.LANGUAGES
    asked = content_terms(message)
    named = named_terms(message)
    similarities = sorted((c.similarity for c in candidates), reverse=True)
    top = similarities[0] if similarities else 0.0
    runner_up = similarities[1] if len(similarities) > 1 else 0.0
    accepted = []
    for at, candidate in enumerate(candidates):
        terms = content_terms(candidate.text)
        names_it = bool(named & terms)
        if encyclopedic and not names_it and candidate.kind != MemoryKind.TOOL_RESULT:
            continue
        shared = len(asked & terms)
        stands_out = candidate.leads_a_clause or (
            candidate.similarity == top and top - runner_up >= STANDOUT_GAP
        )
        # A name the memory also holds is evidence about the user's world, whoever asks about it
        # and however ("When did Caroline go to the support group?").
        if (names_it and candidate.clears(CLOSE_WITH_EVIDENCE)) or _passes(
            candidate, shared, personal, stands_out, understood
        ):
            accepted.append(at)
    return accepted


def _passes(
    candidate: Candidate, shared: int, personal: bool, stands_out: bool, understood: bool
) -> bool:
    evidence = shared > 0
    if not understood and shared >= CORROBORATED:
        # The same standings as the bars below, met by the words instead of the meaning.
        bar = CLOSE_WITH_EVIDENCE if personal else IMPERSONAL_WITH_EVIDENCE
        if candidate.clears_lexically(bar):
            return True
    if personal:
        return (
            candidate.clears(CLOSE)
            or (evidence and candidate.clears(CLOSE_WITH_EVIDENCE))
            or (stands_out and candidate.clears(STANDS_OUT))
        )
    if candidate.kind == MemoryKind.TOOL_RESULT and candidate.clears(TOOL_RESULT):
        return True
    return evidence and candidate.clears(IMPERSONAL_WITH_EVIDENCE)
