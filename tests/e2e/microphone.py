"""A fake microphone for Chromium: Piper saying a sentence once, between silences."""

import wave
from pathlib import Path

from chat.voice import speech


def fake_microphone(folder: Path, sentence: str) -> list[str]:
    """Chromium flags that make a wav of `sentence` the microphone, allowed without asking."""
    rate = speech.output_sample_rate()
    pcm = b"\0\0" * rate + speech.synthesize(sentence, steady=True) + b"\0\0" * (rate * 3)
    path = folder / "microphone.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        # %noloop: say it once, then silence, rather than the sentence over and over.
        f"--use-file-for-fake-audio-capture={path}%noloop",
    ]
