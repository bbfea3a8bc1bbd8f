"""Decoding settings: which Whisper engine and model, where, and how to decode.

`pipeline.asr.engines.whisper_settings` resolves them for a run: these measured
defaults, under the forum config's `whisper:` section, under the command line.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


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
    # False: temperature 0 only, no fallback to sampling when a window decodes badly (the
    # plan's hearing of short lines, where a retry costs more than it brings).
    fallback: bool = True
    # 1: sequential decoding, conditioned on the text before. More: that many chunks of
    # speech, cut at pauses and at most `chunk_seconds` long, decoded at once without
    # conditioning (pipeline.asr.batched; measured in docs/benchmarks.md).
    batch_size: int = 1
    chunk_seconds: float = 30.0

    def as_dict(self) -> dict[str, Any]:
        """The options, as the engine's identity holds them. An option added later joins
        only when it differs from its default, so transcripts made before it stay valid."""
        options = asdict(self)
        for name, default in _ADDED_LATER.items():
            if options[name] == default:
                del options[name]
        return options


# Options added after transcripts were first made, with the value they had implicitly.
_ADDED_LATER: dict[str, Any] = {"fallback": True, "batch_size": 1, "chunk_seconds": 30.0}


@dataclass(frozen=True)
class WhisperSettings:
    """Which engine and model, where, and how to decode (see pipeline.asr).

    An engine decodes with its settings' `decode` options, and only with them: they
    are part of its identity, hence of the transcribe fingerprint.
    """

    # The registry's default engine and its compute type (pipeline.asr.engines, which
    # builds on this module; a test keeps them equal). whisper_settings takes the chosen
    # engine's compute type from the registry.
    engine: str = "faster-whisper"
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
