"""Run options: what one `sort-archive run` was asked to do, resolved at the CLI."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class WhisperSettings:
    model: str = "base"
    model_dir: Path | None = None
    device: str = "cpu"
    compute_type: str = "int8"  # 1.23x float32 on CPU, 2 points less recall (docs/benchmarks.md)
    beam_size: int = 5
    vad: bool = True
    cpu_threads: int = field(default_factory=lambda: os.cpu_count() or 2)


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
