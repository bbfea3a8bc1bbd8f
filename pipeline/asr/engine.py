"""The engine seam: every Whisper implementation looks the same to the pipeline.

An `Engine` is built from `WhisperSettings`, loads its model once (`load`),
turns 16 kHz mono float32 audio into `Decoded` segments with word timings
(`transcribe`, with its settings' decoding options and no others), and says
exactly what it is (`identity`): engine, model, the model file's sha256, compute
type, device and decoding options. The identity is part of the transcribe
fingerprint, so changing any of them redoes the transcripts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.results import Word

if TYPE_CHECKING:
    from pipeline.asr.decoding import WhisperSettings

SAMPLE_RATE = 16_000


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


def identity_of(engine: str, settings: WhisperSettings, compute_type: str) -> EngineIdentity:
    """What an engine is, for the transcribe fingerprint: both engines describe themselves
    the same way, differing only in the compute type they really use."""
    from pipeline.asr.weights import model_sha256

    return EngineIdentity(engine=engine, model=settings.model,
                          model_sha256=model_sha256(settings.model, settings.model_dir),
                          compute_type=compute_type, device=settings.device,
                          options=settings.decode.as_dict())


Progress = Callable[[float], None]  # seconds of audio decoded so far


class Engine(Protocol):
    def load(self) -> None:
        """Load the model; raise ModelError (exit 5) with a fix if it cannot be loaded."""

    def transcribe(self, audio: Any, language: str,
                   on_progress: Progress | None = None) -> list[Decoded]:
        """Decode `audio` (16 kHz mono float32) with the settings' decoding options (the
        ones in `identity`); times are seconds from its start."""
        ...

    def identity(self) -> EngineIdentity: ...
