"""Run options: what one `sort-archive run` was asked to do, resolved at the CLI."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.asr.engine import DecodeOptions
from pipeline.settings import DEFAULT_FETCH_TIMEOUT


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


@dataclass(frozen=True)
class RunOptions:
    work_root: Path
    from_stage: str | None = None
    only_stage: str | None = None
    force: bool = False
    dry_run: bool = False
    whisper: WhisperSettings = field(default_factory=WhisperSettings)
    catalogue: Path | None = None
    wait_for_lock: bool = False  # a second run of a busy forum waits instead of exiting
    cut_mode: str | None = None  # --cut-mode; None: the config's split.mode
    until_stage: str | None = None  # stop after this stage (`sort-archive plan`: "plan")
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT  # seconds a download waits for data
