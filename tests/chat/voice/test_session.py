"""The parts of a voice session that need no socket: sentences, what was heard, speech."""

from chat.models import Message
from chat.voice import speech
from chat.voice.offline import SentenceSplitter
from chat.voice.session import SpokenAnswer
from tests.chat.voice.conftest import SENTENCE, silence


def test_streamed_text_is_cut_into_whole_sentences():
    splitter = SentenceSplitter()

    assert splitter.add("(Offline demo model.) You sa") == ["(Offline demo model.)"]
    assert splitter.add("id: “hi.” Then") == ["You said: “hi.”"]
    assert splitter.add(" more\nAnd a line") == ["Then more"]
    assert splitter.rest() == "And a line"
    assert splitter.rest() == ""


def test_what_was_heard_is_the_played_sentences_and_the_words_said_of_the_next():
    spoken = SpokenAnswer(Message())
    spoken.add("First sentence here.", seconds=2, now=10)
    # Synthesised before the first finished playing: it plays after it, not at once.
    spoken.add("one two three four", seconds=4, now=11)

    assert spoken.heard(9) == ""
    assert spoken.heard(11) == "First"
    assert spoken.heard(12) == "First sentence here."
    assert spoken.heard(14) == "First sentence here. one two"
    assert spoken.heard(16) == "First sentence here. one two three four"
    assert spoken.playing(15.9) and not spoken.playing(16)


def test_what_was_heard_of_realtime_deltas_has_one_space_between_words():
    spoken = SpokenAnswer(Message())
    for number, delta in enumerate(["Noted,", " you", " live"]):
        spoken.add(delta, seconds=1, now=number)

    assert spoken.heard(2) == "Noted, you"


def test_silence_is_no_utterance_and_speech_then_silence_is_one(spoken_sentence):
    detector = speech.UtteranceDetector(end_of_speech_ms=600, max_utterance_seconds=30)

    assert list(detector.feed(silence(3))) == []
    events = list(detector.feed(spoken_sentence + silence(1)))

    assert [type(event) for event in events] == [speech.SpeechStarted, speech.SpeechEnded]
    utterance = speech.seconds_of(events[1].pcm)
    assert (
        speech.seconds_of(spoken_sentence) - 0.5
        < utterance
        < speech.seconds_of(spoken_sentence) + 1
    )


def test_an_utterance_is_cut_at_its_maximum_length(spoken_sentence):
    detector = speech.UtteranceDetector(end_of_speech_ms=600, max_utterance_seconds=1)

    events = list(detector.feed(spoken_sentence))

    ended = [event for event in events if isinstance(event, speech.SpeechEnded)]
    assert ended and speech.seconds_of(ended[0].pcm) <= 1.0


def test_a_short_sentence_and_one_longer_than_the_shortest_whisper_window_are_heard_whole(
    say, spoken_sentence
):
    # Whisper encodes at least 15 s of features, and 2 s past the speech: the second utterance
    # outgrows the floor, and its last words must still be heard.
    long_utterance = (
        say("I am flying to Berlin on Friday, and I need a hotel near the station.")
        + silence(8)
        + say("Please book a table for four at the Italian restaurant on Saturday evening.")
    )

    assert speech.seconds_of(long_utterance) > 15
    assert speech.transcribe(silence(0.3) + spoken_sentence + silence(0.6)) == SENTENCE
    heard = speech.transcribe(long_utterance)
    assert heard.startswith(("I am flying to Berlin on Friday", "I'm flying to Berlin on Friday"))
    assert heard.endswith("at the Italian restaurant on Saturday evening.")
