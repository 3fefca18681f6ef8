"""Voice latency: offline end of speech to first audio, STT/TTS speed, the Realtime relay's delay.

    .venv/bin/python bench/voice_latency.py [--postgres] [--runs 10]

Each offline run says one short sentence (made by Piper, resampled to 16 kHz) into the real voice
consumer through WebsocketCommunicator, then sends the trailing silence at the pace of a
microphone. The clock starts when the last sample of speech has been sent and stops at the first
binary frame of the spoken answer: it holds the end-of-speech wait (VOICE_END_OF_SPEECH_MS),
Whisper, the chat turn with the offline demo model at its default pace, and Piper's first sentence.

Speech-to-text is timed on 24 utterances (12 sentences, Piper with and without its sampling
noise, framed by the pre-roll and end-of-speech silence the detector keeps), with the app's
shortened encoder window and with Whisper's full 30 s one: real-time factors, word error rates
against the text (digits and spelt-out numbers count as errors for both), and how many
transcripts the two give alike.

The Realtime part runs the same consumer against tests/realtime_upstream.py on 127.0.0.1, whose
answer sends an audio delta of 50 ms every 50 ms, as a model speaking in real time would: the
delay each delta takes from the upstream's send to the browser's socket, and the tokens of
memory context (memories.recall.estimate_tokens) in each session.update, with 30 memories.
"""

import asyncio
import functools
import os
import re
import struct
import time

import harness

SENTENCE = "I live in Porto and I prefer window seats."
RTF_TEXTS = [
    SENTENCE,
    "What time is it in Lisbon right now?",
    "Please remember that my sister's birthday is on the fourth of May.",
    "Thanks, that is all for today.",
]
STT_TEXTS = [
    *RTF_TEXTS,
    "Yes.",
    "Stop.",
    "Hello there.",
    "Forget my old address.",
    "How many meetings do I have tomorrow?",
    "Can you remind me what I said about the kitchen renovation last week?",
    "My daughter is allergic to peanuts, so never suggest recipes with them.",
    "I am flying to Berlin on Friday and I need a hotel near the station with a gym, a late "
    "checkout and breakfast included, ideally under two hundred euros a night.",
]
CHUNK_SECONDS = 0.1
# Audio deltas from the Realtime test server: this much speech each, this far apart.
DELTA_SECONDS = 0.05
DELTAS_PER_ANSWER = 40


async def one_turn(application, cookie: str, conversation_id: int, speech_pcm: bytes) -> float:
    from channels.testing import WebsocketCommunicator

    from chat.voice import speech

    socket = WebsocketCommunicator(
        application,
        f"/ws/voice/{conversation_id}/",
        headers=[
            (b"origin", b"http://localhost"),
            (b"host", b"localhost"),
            (b"cookie", f"sessionid={cookie}".encode()),
        ],
    )
    connected, _ = await socket.connect(timeout=60)
    assert connected, "the voice socket refused the connection"
    await socket.send_json_to({"type": "start", "sample_rate": speech.INPUT_SAMPLE_RATE})
    await socket.receive_json_from(timeout=60)
    step = int(speech.INPUT_SAMPLE_RATE * CHUNK_SECONDS) * speech.BYTES_PER_SAMPLE
    for offset in range(0, len(speech_pcm), step):
        await socket.send_to(bytes_data=speech_pcm[offset : offset + step])
    speech_ended = time.perf_counter()
    silence = b"\0" * step

    async def microphone_silence() -> None:
        while True:
            await socket.send_to(bytes_data=silence)
            await asyncio.sleep(CHUNK_SECONDS)

    microphone = asyncio.create_task(microphone_silence())
    try:
        while not (await socket.receive_output(timeout=60)).get("bytes"):
            pass
        first_audio = time.perf_counter() - speech_ended
        while '"answer_spoken"' not in (await socket.receive_output(timeout=60)).get("text", ""):
            pass
    finally:
        microphone.cancel()
    await socket.disconnect()
    return first_audio


async def relay_delays(application, cookie: str, conversation_id: int) -> list[float]:
    """Seconds from the upstream's send of each audio delta to its arrival at the browser."""
    from channels.testing import WebsocketCommunicator

    socket = WebsocketCommunicator(
        application,
        f"/ws/voice/{conversation_id}/",
        headers=[
            (b"origin", b"http://localhost"),
            (b"host", b"localhost"),
            (b"cookie", f"sessionid={cookie}".encode()),
        ],
    )
    connected, _ = await socket.connect(timeout=60)
    assert connected, "the voice socket refused the connection"
    await socket.send_json_to({"type": "start", "sample_rate": 16_000})
    await socket.receive_json_from(timeout=60)
    await socket.send_to(bytes_data=b"\0" * 19_200)
    delays = []
    while True:
        frame = await socket.receive_output(timeout=60)
        if frame.get("bytes"):
            delays.append(time.perf_counter() - struct.unpack("<d", frame["bytes"][:8])[0])
        elif '"answer_finished"' in frame.get("text", ""):
            break
    await socket.disconnect()
    return delays


def realtime_relay(application, cookie: str, user, runs: int) -> dict:
    from asgiref.sync import async_to_sync
    from django.conf import settings

    from chat.models import Conversation
    from memories import recall
    from memories import services as memory_services
    from tests.realtime_upstream import RealtimeServer, Say

    for number in range(30):
        memory_services.add_memory(user, f"Fact number {number} about the user's travel plans")
    words = " ".join(f"word{number}" for number in range(DELTAS_PER_ANSWER))
    answer = Say(
        "Tell me about my travel plans.",
        words,
        seconds_per_word=DELTA_SECONDS,
        delta_interval=DELTA_SECONDS,
    )
    delays: list[float] = []
    first_deltas: list[float] = []
    with RealtimeServer() as server:
        settings.OPENAI_REALTIME_URL = server.base_url
        for _ in range(runs):
            server.script(answer)
            conversation = Conversation.objects.create(owner=user, title="My travel plans")
            answer_delays = async_to_sync(relay_delays)(application, cookie, conversation.pk)
            delays += answer_delays
            first_deltas.append(answer_delays[0])
        contexts = [
            "".join(update["session"]["instructions"].partition("<user_memories>")[1:])
            for update in server.events("session.update")
        ]
    settings.OPENAI_REALTIME_URL = ""
    tokens = [recall.estimate_tokens(context) for context in contexts if context]
    return {
        "relay_delay": harness.latency_summary(delays),
        # The first delta also waits for the turn to be saved and the session refreshed.
        "first_delta_delay": harness.latency_summary(first_deltas),
        "memory_context_tokens_per_update_p50": harness.percentile(tokens, 50),
        "memory_context_tokens_per_update_max": max(tokens, default=0),
        "session_updates": len(contexts),
    }


def text_to_speech_factors(speech) -> dict:
    factors = []
    for text in RTF_TEXTS:
        started = time.perf_counter()
        pcm = speech.synthesize(text)
        factors.append(
            (time.perf_counter() - started) / speech.seconds_of(pcm, speech.output_sample_rate())
        )
    return {
        "tts_rtf_p50": round(harness.percentile(factors, 50), 3),
        "tts_rtf_max": round(max(factors), 3),
    }


def words_of(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


def word_errors(reference: str, heard: str) -> int:
    """Word-level edit distance."""
    expected, got = words_of(reference), words_of(heard)
    row = list(range(len(got) + 1))
    for at, word in enumerate(expected, 1):
        diagonal, row[0] = row[0], at
        for column, candidate in enumerate(got, 1):
            diagonal, row[column] = (
                row[column],
                min(row[column] + 1, row[column - 1] + 1, diagonal + (word != candidate)),
            )
    return row[-1]


def speech_to_text(speech) -> dict:
    """The app's Whisper against the same model on its full 30 s window, on the same audio."""
    from faster_whisper import WhisperModel

    full_window = WhisperModel(
        str(speech.whisper_model_dir()), device="cpu", compute_type="int8", cpu_threads=1
    )
    engines = {
        "short_window": speech.transcribe,
        "full_window": functools.partial(speech.transcribe_with, full_window),
    }
    factors: dict[str, list[float]] = {name: [] for name in engines}
    errors = dict.fromkeys(engines, 0)
    alike = words = 0
    pre_roll, end_of_speech = b"\0\0" * 4_800, b"\0\0" * 9_600
    for text in STT_TEXTS:
        for steady in (True, False):
            pcm = speech.synthesize(text, steady=steady)
            heard = pre_roll + speech.resample(
                pcm, speech.output_sample_rate(), speech.INPUT_SAMPLE_RATE
            )
            heard += end_of_speech
            transcripts = {}
            for name, engine in engines.items():
                started = time.perf_counter()
                transcripts[name] = engine(heard)
                factors[name].append((time.perf_counter() - started) / speech.seconds_of(heard))
                errors[name] += word_errors(text, transcripts[name])
            words += len(words_of(text))
            alike += transcripts["short_window"] == transcripts["full_window"]
    return {
        "utterances": len(STT_TEXTS) * 2,
        "transcripts_alike": alike,
        **{
            f"stt_{name}_{key}": value
            for name in engines
            for key, value in (
                ("rtf_p50", round(harness.percentile(factors[name], 50), 3)),
                ("rtf_max", round(max(factors[name]), 3)),
                ("wer", round(errors[name] / words, 3)),
            )
        },
    }


def main() -> None:
    parser = harness.arguments(__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    os.environ.setdefault("VOICE_ENABLED", "true")
    # The benchmark sends each sentence at once; only the trailing silence is paced.
    os.environ.setdefault("VOICE_AUDIO_AHEAD_SECONDS", "60")
    harness.setup_django("voice_latency", options.postgres)
    from asgiref.sync import async_to_sync
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from chat.models import Conversation
    from chat.voice import speech
    from config.asgi import application

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    speech.warm_up()
    user = User.objects.create_user(username="bench-voice", password="not used")
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    spoken = speech.synthesize(SENTENCE, steady=True)
    speech_pcm = speech.resample(spoken, speech.output_sample_rate(), speech.INPUT_SAMPLE_RATE)
    conversation = Conversation.objects.create(owner=user)
    async_to_sync(one_turn)(application, cookie, conversation.pk, speech_pcm)  # warm-up
    latencies = []
    for _ in range(options.runs):
        conversation = Conversation.objects.create(owner=user)
        latencies.append(async_to_sync(one_turn)(application, cookie, conversation.pk, speech_pcm))
    first_audio = harness.latency_summary(latencies)
    factors = {**speech_to_text(speech), **text_to_speech_factors(speech)}
    relay = realtime_relay(application, cookie, user, options.runs)
    harness.print_table(
        ["end of speech to first audio", "p50 ms", "p95 ms", "runs"],
        [["offline engine", first_audio["p50_ms"], first_audio["p95_ms"], first_audio["n"]]],
    )
    harness.print_table(
        ["realtime: upstream audio delta to browser", "p50 ms", "p95 ms", "deltas"],
        [
            [label, *(relay[key][stat] for stat in ("p50_ms", "p95_ms", "n"))]
            for label, key in (
                ("every delta", "relay_delay"),
                ("first delta of each answer", "first_delta_delay"),
            )
        ],
    )
    print(
        f"memory context per session.update: p50 {relay['memory_context_tokens_per_update_p50']}"
        f" tokens, max {relay['memory_context_tokens_per_update_max']}"
    )
    harness.print_table(
        ["real-time factor", "p50", "max", "word error rate"],
        [
            [
                f"speech-to-text (tiny.en int8), {window} window",
                *(factors[f"stt_{window}_window_{key}"] for key in ("rtf_p50", "rtf_max", "wer")),
            ]
            for window in ("short", "full")
        ]
        + [
            [
                "text-to-speech (Piper joe medium)",
                factors["tts_rtf_p50"],
                factors["tts_rtf_max"],
                "",
            ]
        ],
    )
    print(
        f"transcripts alike in both windows: {factors['transcripts_alike']}"
        f" of {factors['utterances']}"
    )
    database = "postgresql" if options.postgres else "sqlite"
    harness.write_results(
        f"voice_latency_{database}",
        {
            "sentence": SENTENCE,
            "speech_seconds": round(speech.seconds_of(speech_pcm), 3),
            "end_of_speech_ms": settings.VOICE_END_OF_SPEECH_MS,
            "offline_model_token_delay_seconds": settings.OFFLINE_MODEL_TOKEN_DELAY_SECONDS,
            "realtime_delta_seconds": DELTA_SECONDS,
            "first_audio": first_audio,
            **factors,
            "realtime": relay,
        },
    )


if __name__ == "__main__":
    main()
