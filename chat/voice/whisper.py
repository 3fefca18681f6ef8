"""faster-whisper made to encode the utterance rather than a padded 30 s window.

A module of its own so that faster-whisper and CTranslate2 are imported only when a process
loads the model (chat.voice.speech), not by every process that imports the voice code.
"""

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel

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
