"""Reading Whisper's audio: 16 kHz mono 16-bit WAV, as fetch extracts it."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

from pipeline.errors import TranscribeError

SAMPLE_RATE = 16_000


def read_slice(audio_path: Path, start: float, duration: float) -> Any:
    """`duration` seconds from `start`, as float32 samples in -1..1."""
    import numpy as np

    try:
        with wave.open(str(audio_path), "rb") as wav:
            if wav.getframerate() != SAMPLE_RATE or wav.getnchannels() != 1:
                raise TranscribeError(f"{audio_path} is not 16 kHz mono",
                                      "delete the work folder's source/audio.wav and run again")
            first = int(start * SAMPLE_RATE)
            wav.setpos(min(first, wav.getnframes()))
            frames = wav.readframes(int(duration * SAMPLE_RATE))
    except (OSError, wave.Error, EOFError) as exc:
        raise TranscribeError(f"cannot read audio {audio_path}: {exc}",
                              "run again with --from fetch to re-extract it") from None
    return np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768.0
