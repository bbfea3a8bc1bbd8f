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
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.models import Word

if TYPE_CHECKING:
    from pipeline.options import WhisperSettings

SAMPLE_RATE = 16_000
ENGINES = ("faster-whisper", "openai-whisper")


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode. Defaults chosen by CER on the twelve Korean talks (docs/benchmarks.md,
    "Transcription quality"), through `recognise`, i.e. what staff get:

    - condition_on_previous_text True: the largest gain (8.48 % -> 7.93 % CER on the twelve
      talks, 8.29 % -> 7.63 % on them wrapped in title-card silence and applause), same speed;
    - VAD on, with faster-whisper's own parameters (0.5 / 2000 ms / 400 ms): 7.93 % against
      8.22 % without on clean speech, 7.63 % against 8.66 % around applause; tuned
      parameters (0.35/1000, 0.5/1000/600, 0.35/500/200) were no better or worse;
    - beam 5: greedy decoding costs 1.7 points for little speed on the CPU.

    Against plain faster-whisper (its own defaults, no word timings): 2.5 points better on
    forum-like audio (7.63 % against 10.09 %: without VAD it writes numbers over the
    applause), 0.38 points worse on clean speech alone (7.93 % against 7.55 %); see
    docs/benchmarks.md for where that gap comes from.
    """

    beam_size: int = 5
    condition_on_previous_text: bool = True
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


def identity_of(engine: str, settings: WhisperSettings, compute_type: str) -> EngineIdentity:
    """What an engine is, for the transcribe fingerprint: both engines describe themselves
    the same way, differing only in the compute type they really use."""
    from pipeline.weights import model_sha256

    return EngineIdentity(engine=engine, model=settings.model,
                          model_sha256=model_sha256(settings.model, settings.model_dir),
                          compute_type=compute_type, device=settings.device,
                          options=settings.decode.as_dict())


Progress = Callable[[float], None]  # seconds of audio decoded so far


class Engine(Protocol):
    def load(self) -> None:
        """Load the model; raise ModelError (exit 5) with a fix if it cannot be loaded."""

    def transcribe(self, audio: Any, language: str, options: DecodeOptions,
                   on_progress: Progress | None = None) -> list[Decoded]:
        """Decode `audio` (16 kHz mono float32); times are seconds from its start."""
        ...

    def identity(self) -> EngineIdentity: ...
