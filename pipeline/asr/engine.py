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

from pipeline.results import Word

if TYPE_CHECKING:
    from pipeline.asr.decoding import WhisperSettings

SAMPLE_RATE = 16_000
ENGINES = ("faster-whisper", "openai-whisper")


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode. Defaults chosen by CER on the twelve Korean talks (docs/benchmarks.md,
    "Transcription quality"), through `recognise`, i.e. what staff get:

    - the decoding itself is plain faster-whisper's (beam 5, condition_on_previous_text
      True, its temperature fallback): conditioning was the largest single gain;
    - VAD in "skip" mode with a 5 s minimum silence: only non-speech of 5 s or more (title
      cards, breaks, applause) is skipped, so on continuous speech the text is exactly
      plain faster-whisper's (7.55 % CER on the twelve clean talks, identical text), and
      around applause and silence it is better (see the table: plain writes figures over
      the applause). faster-whisper's own VAD ("join", 2 s) was as good around applause
      but 0.3 points worse on clean speech;
    - word timings aligned after decoding ("aligned"): asking the decoder for them moves
      its windows and changed the text for the worse (7.81 % against 7.93 % with VAD);
    - beam 5: greedy decoding costs 1.7 points for little speed on the CPU.
    """

    beam_size: int = 5
    condition_on_previous_text: bool = True
    vad: bool = True
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 5000
    vad_speech_pad_ms: int = 400
    vad_mode: str = "skip"  # "skip" or "join": see pipeline.asr.vad
    # "aligned": decode without word timings, then align the text (pipeline.asr.align);
    # "decoder": let the decoder time words as it goes, which changes the text.
    word_timing: str = "aligned"

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
    from pipeline.asr.weights import model_sha256

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
