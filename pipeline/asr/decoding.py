"""Decoding settings: which Whisper engine and model, where, and how to decode."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.asr.engine import DecodeOptions


@dataclass(frozen=True)
class WhisperSettings:
    """Which engine and model, where, and how to decode (see pipeline.asr)."""

    engine: str = "faster-whisper"  # or "openai-whisper"
    model: str = "base"
    model_dir: Path | None = None
    device: str = "cpu"
    compute_type: str = "int8"  # chosen by CER and speed (docs/benchmarks.md)
    cpu_threads: int = field(default_factory=lambda: os.cpu_count() or 2)
    decode: DecodeOptions = field(default_factory=DecodeOptions)

    @property
    def beam_size(self) -> int:
        return self.decode.beam_size

    @property
    def vad(self) -> bool:
        return self.decode.vad
