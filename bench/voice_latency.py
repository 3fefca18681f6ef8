"""Offline voice: end of speech to first audio byte back, and the real-time factors of STT and TTS.

    .venv/bin/python bench/voice_latency.py [--postgres] [--runs 10]

Each run says one short sentence (made by Piper, resampled to 16 kHz) into the real voice
consumer through WebsocketCommunicator, then sends the trailing silence at the pace of a
microphone. The clock starts when the last sample of speech has been sent and stops at the first
binary frame of the spoken answer: it holds the end-of-speech wait (VOICE_END_OF_SPEECH_MS),
Whisper, the chat turn with the offline demo model at its default pace, and Piper's first sentence.
"""

import asyncio
import os
import time

import harness

SENTENCE = "I live in Porto and I prefer window seats."
RTF_TEXTS = [
    SENTENCE,
    "What time is it in Lisbon right now?",
    "Please remember that my sister's birthday is on the fourth of May.",
    "Thanks, that is all for today.",
]
CHUNK_SECONDS = 0.1


async def one_turn(application, cookie: str, conversation_id: int, speech_pcm: bytes) -> float:
    from channels.testing import WebsocketCommunicator

    from chat.voice import speech

    socket = WebsocketCommunicator(
        application,
        f"/ws/voice/{conversation_id}/",
        headers=[
            (b"origin", b"http://testserver"),
            (b"host", b"testserver"),
            (b"cookie", f"sessionid={cookie}".encode()),
        ],
    )
    await socket.connect(timeout=60)
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


def real_time_factors(speech) -> dict:
    stt, tts = [], []
    for text in RTF_TEXTS:
        started = time.perf_counter()
        pcm = speech.synthesize(text)
        tts.append(
            (time.perf_counter() - started) / speech.seconds_of(pcm, speech.output_sample_rate())
        )
        heard = speech.resample(pcm, speech.output_sample_rate(), speech.INPUT_SAMPLE_RATE)
        started = time.perf_counter()
        speech.transcribe(heard)
        stt.append((time.perf_counter() - started) / speech.seconds_of(heard))
    return {
        "stt_rtf_p50": round(harness.percentile(stt, 50), 3),
        "stt_rtf_max": round(max(stt), 3),
        "tts_rtf_p50": round(harness.percentile(tts, 50), 3),
        "tts_rtf_max": round(max(tts), 3),
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
    speech_pcm = speech.resample(
        speech.synthesize(SENTENCE), speech.output_sample_rate(), speech.INPUT_SAMPLE_RATE
    )
    conversation = Conversation.objects.create(owner=user)
    async_to_sync(one_turn)(application, cookie, conversation.pk, speech_pcm)  # warm-up
    latencies = []
    for _ in range(options.runs):
        conversation = Conversation.objects.create(owner=user)
        latencies.append(async_to_sync(one_turn)(application, cookie, conversation.pk, speech_pcm))
    first_audio = harness.latency_summary(latencies)
    factors = real_time_factors(speech)
    harness.print_table(
        ["end of speech to first audio", "p50 ms", "p95 ms", "runs"],
        [["offline engine", first_audio["p50_ms"], first_audio["p95_ms"], first_audio["n"]]],
    )
    harness.print_table(
        ["real-time factor", "p50", "max"],
        [
            ["speech-to-text (tiny.en int8)", factors["stt_rtf_p50"], factors["stt_rtf_max"]],
            ["text-to-speech (Piper joe medium)", factors["tts_rtf_p50"], factors["tts_rtf_max"]],
        ],
    )
    database = "postgresql" if options.postgres else "sqlite"
    harness.write_results(
        f"voice_latency_{database}",
        {
            "sentence": SENTENCE,
            "speech_seconds": round(speech.seconds_of(speech_pcm), 3),
            "end_of_speech_ms": settings.VOICE_END_OF_SPEECH_MS,
            "offline_model_token_delay_seconds": settings.OFFLINE_MODEL_TOKEN_DELAY_SECONDS,
            "first_audio": first_audio,
            **factors,
        },
    )


if __name__ == "__main__":
    main()
