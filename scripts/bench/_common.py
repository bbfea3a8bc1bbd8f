"""Shared set-up for the benchmarks: the demo forum as the workload, and a timer."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pipeline.demo.forum import FULL_LAYOUT, DemoForum, build_demo_forum
from pipeline.progress import LogProgress

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def demo_forum() -> DemoForum:
    """The 3-minute demo forum (built once, reused from build/demo)."""
    return build_demo_forum(ROOT / "build" / "demo", FULL_LAYOUT, progress=LogProgress())


def best_of(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    """Fastest wall time of `runs` runs (the least disturbed by other load) and a result."""
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{ffmpeg.splitlines()[0] if ffmpeg else 'ffmpeg ?'}")
