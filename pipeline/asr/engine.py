"""The engine seam: every Whisper implementation looks the same to the pipeline.

An `Engine` is built from `WhisperSettings`, loads its model once (`load`),
turns 16 kHz mono float32 audio into `Decoded` segments with word timings
(`transcribe`), and says exactly what it is (`identity`): engine, model, the
model file's sha256, compute type, device and decoding options. The identity
is part of the transcribe fingerprint, so changing any of them redoes the
transcripts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from pipeline.models import Word

SAMPLE_RATE = 16_000
ENGINES = ("faster-whisper", "openai-whisper")


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode. Defaults chosen by CER on the twelve Korean talks (docs/benchmarks.md)."""

    beam_size: int = 5
    condition_on_previous_text: bool = False
    vad: bool = True
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 2000
    vad_speech_pad_ms: int = 400

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decoded:
    """One segment as the engine produced it, with what the guards need to judge it."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0


@dataclass(frozen=True)
class EngineIdentity:
    engine: str
    model: str
    model_sha256: str
    compute_type: str
    device: str
    options: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Progress = Callable[[float], None]  # seconds of audio decoded so far


class Engine(Protocol):
    def load(self) -> None:
        """Load the model; raise ModelError (exit 5) with a fix if it cannot be loaded."""

    def transcribe(self, audio: Any, language: str, options: DecodeOptions,
                   on_progress: Progress | None = None) -> list[Decoded]:
        """Decode `audio` (16 kHz mono float32); times are seconds from its start."""
        ...

    def identity(self) -> EngineIdentity: ...
